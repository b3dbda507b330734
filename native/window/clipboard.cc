// The system clipboard (X's CLIPBOARD selection) for clipboard sharing (issue 21): the text the
// technician copied is put there (setClipboard; this program owns it until someone else copies);
// while the app watches, each new owner's text (the user copied) is read and sent; and one read on
// request. Owner changes are XFixes notifications: nothing is read unless the app asked.
#include "ui.h"

namespace tether_window {
namespace {

/** The text we put on the clipboard, served to whoever pastes until someone else copies. */
struct Owned {
  Ui* ui;
  std::string text;
};

void ServeText(GtkClipboard*, GtkSelectionData* data, guint, gpointer owned) {
  const std::string& text = static_cast<Owned*>(owned)->text;
  gtk_selection_data_set_text(data, text.data(), static_cast<gint>(text.size()));
}

}  // namespace

void Ui::WatchClipboard(bool on) {
  if (!clipboard_) {
    clipboard_ = gtk_clipboard_get(GDK_SELECTION_CLIPBOARD);
    g_signal_connect(clipboard_, "owner-change", G_CALLBACK(OnOwnerChange), this);
  }
  watch_ = on;
}

void Ui::SetClipboard(const std::string& text) {
  if (text.size() > kMaxClipboard) {
    fprintf(stderr, "tether-window: clipboard text over %zu bytes not set\n", kMaxClipboard);
    return;
  }
  WatchClipboard(watch_);  // connects the owner-change handler on first use
  GtkTargetList* list = gtk_target_list_new(nullptr, 0);
  gtk_target_list_add_text_targets(list, 0);
  gint count = 0;
  GtkTargetEntry* targets = gtk_target_table_new_from_list(list, &count);
  gtk_target_list_unref(list);
  auto* owned = new Owned{this, text};
  // GTK calls the clear function when someone else copies (or our next set replaces this one).
  const gboolean set = gtk_clipboard_set_with_data(
      clipboard_, targets, static_cast<guint>(count), ServeText,
      +[](GtkClipboard*, gpointer data) {
        auto* gone = static_cast<Owned*>(data);
        gone->ui->own_clipboard_ = false;
        delete gone;
      },
      owned);
  gtk_target_table_free(targets, count);
  if (!set) {
    delete owned;
    return;
  }
  own_clipboard_ = true;  // the owner change this causes is ours: not reported (OnOwnerChange)
}

void Ui::ReadClipboard(bool copied) {
  WatchClipboard(watch_);
  if (copied) {
    gtk_clipboard_request_text(
        clipboard_,
        +[](GtkClipboard*, const gchar* text, gpointer data) {
          auto* self = static_cast<Ui*>(data);
          // Watching ended meanwhile, or we own it again: not the user's copy.
          if (!text || !self->watch_ || self->own_clipboard_) return;
          Emit(ClipboardEvent(text, true));
        },
        this);
  } else {
    gtk_clipboard_request_text(
        clipboard_,
        +[](GtkClipboard*, const gchar* text, gpointer) {
          Emit(ClipboardEvent(text ? text : "", false));
        },
        nullptr);
  }
}

void Ui::OnOwnerChange(GtkClipboard*, GdkEvent*, gpointer data) {
  auto* self = static_cast<Ui*>(data);
  // X tells the old owner (SelectionClear: our contents cleared) before it tells anyone of the new
  // one, so while we still own it this change is our own set.
  if (!self->watch_ || self->own_clipboard_) return;
  self->ReadClipboard(true);
}

}  // namespace tether_window
