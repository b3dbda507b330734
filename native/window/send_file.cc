// Send a file (sendFile): a button in the app window that opens GTK's open-file dialog; the file
// the user chooses goes to the app as a "sendFile" event. The dialog is not modal (the app window
// stays usable: Stop sharing, Quit) and never blocks the main loop (its answer comes by the
// "response" signal), so the app's commands keep arriving while it is open. It is one of the
// program's windows: in the geometry rectangles and "focused" while it has the keyboard (ui.cc).
#include <algorithm>

#include "ui.h"
#include "widgets.h"

namespace tether_window {

namespace {

// The open-file dialog at the usual size of a dialog, within the work area of its screen.
gboolean SizeChooser(GtkWidget* w, GdkEvent*, gpointer) {
  GdkRectangle area{0, 0, 1280, 800};
  GdkMonitor* monitor =
      gdk_display_get_monitor_at_window(gtk_widget_get_display(w), gtk_widget_get_window(w));
  if (monitor) gdk_monitor_get_workarea(monitor, &area);
  const int width = std::min(760, area.width * 9 / 10);
  const int height = std::min(540, area.height * 8 / 10);
  gtk_window_resize(GTK_WINDOW(w), width, height);
  // Centred on the app window, and all of it on the screen.
  if (GtkWindow* parent = gtk_window_get_transient_for(GTK_WINDOW(w))) {
    int px = 0, py = 0, pw = 0, ph = 0;
    gtk_window_get_position(parent, &px, &py);
    gtk_window_get_size(parent, &pw, &ph);
    const int x =
        std::clamp(px + (pw - width) / 2, area.x, area.x + std::max(0, area.width - width));
    const int y =
        std::clamp(py + (ph - height) / 2, area.y, area.y + std::max(0, area.height - height));
    gtk_window_move(GTK_WINDOW(w), x, y);
  }
  return FALSE;
}

}  // namespace

void Ui::BuildSendFile(GtkWidget* box) {
  // In a row of its own, so that the button is as wide as its label, not as the window.
  send_row_ = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 0);
  send_button_ = gtk_button_new_with_label("");
  g_signal_connect(
      send_button_, "clicked",
      G_CALLBACK(+[](GtkButton*, gpointer self) { static_cast<Ui*>(self)->OpenChooser(); }), this);
  gtk_box_pack_start(GTK_BOX(send_row_), send_button_, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(box), send_row_, FALSE, FALSE, 0);
}

void Ui::SendFile(const Json& c) {
  if (final_) return;
  gtk_button_set_label(GTK_BUTTON(send_button_), Str(c, "label").c_str());
  send_title_ = Str(c, "title");
  const bool visible = Flag(c, "visible");
  gtk_widget_set_visible(send_row_, visible);
  if (!visible) {
    CloseChooser();  // the grant ended: whatever the dialog would choose is not wanted any more
  } else if (chooser_) {
    gtk_window_set_title(GTK_WINDOW(chooser_), send_title_.c_str());
  }
}

void Ui::OpenChooser() {
  if (final_ || !gtk_widget_get_visible(send_row_)) return;
  if (chooser_) {  // one at a time: the open one comes to the front
    gtk_window_present(GTK_WINDOW(chooser_));
    return;
  }
  // GTK's own translations of its button labels (the words of the dialog are GTK's anyway).
  chooser_ = gtk_file_chooser_dialog_new(
      send_title_.c_str(), GTK_WINDOW(main_), GTK_FILE_CHOOSER_ACTION_OPEN,
      g_dpgettext2("gtk30", "Stock label", "_Cancel"), GTK_RESPONSE_CANCEL,
      g_dpgettext2("gtk30", "Stock label", "_Open"), GTK_RESPONSE_ACCEPT, nullptr);
  GtkFileChooser* fc = GTK_FILE_CHOOSER(chooser_);
  gtk_file_chooser_set_local_only(fc, TRUE);
  gtk_file_chooser_set_select_multiple(fc, FALSE);
  gtk_dialog_set_default_response(GTK_DIALOG(chooser_), GTK_RESPONSE_ACCEPT);
  gtk_window_set_modal(GTK_WINDOW(chooser_), FALSE);
  gtk_window_set_destroy_with_parent(GTK_WINDOW(chooser_), TRUE);
  // GTK sizes a first-time chooser from its widget's wish (1096 x 775 on a 1280 x 800 screen,
  // nearly all of it) and applies it when the dialog is mapped: once it is, the usual size of a
  // dialog, within the screen's work area, centred on the app window (SizeChooser).
  g_signal_connect(chooser_, "map-event", G_CALLBACK(SizeChooser), nullptr);
  g_signal_connect(chooser_, "response", G_CALLBACK(OnChooserResponse), this);
  // Gone however it goes (our CloseChooser, the response, the app window's end): forgotten.
  g_signal_connect(chooser_, "destroy", G_CALLBACK(+[](GtkWidget* w, gpointer data) {
                     auto* self = static_cast<Ui*>(data);
                     if (self->chooser_ == w) self->chooser_ = nullptr;
                     self->ScheduleReport();
                     self->ScheduleTree();
                   }),
                   this);
  g_signal_connect(chooser_, "configure-event", G_CALLBACK(OnConfigure), this);
  g_signal_connect(chooser_, "focus-in-event", G_CALLBACK(OnFocus), this);
  g_signal_connect(chooser_, "focus-out-event", G_CALLBACK(OnFocus), this);
  g_signal_connect(chooser_, "map-event", G_CALLBACK(OnFocus), this);
  g_signal_connect(chooser_, "set-focus", G_CALLBACK(+[](GtkWindow*, GtkWidget*, gpointer self) {
                     static_cast<Ui*>(self)->ScheduleTree();
                   }),
                   this);
  gtk_window_present(GTK_WINDOW(chooser_));
  ScheduleReport();
  ScheduleTree();
}

void Ui::CloseChooser() {
  GtkWidget* w = chooser_;
  chooser_ = nullptr;  // first: nothing it says from now on is heard (OnChooserResponse)
  Destroy(w);
  ScheduleReport();
  ScheduleTree();
}

void Ui::OnChooserResponse(GtkDialog* dialog, gint response, gpointer data) {
  auto* self = static_cast<Ui*>(data);
  if (GTK_WIDGET(dialog) != self->chooser_) return;  // closed by the app meanwhile
  if (response == GTK_RESPONSE_ACCEPT) {
    gchar* file = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(dialog));
    // GLib's file name encoding is UTF-8 on any current Linux, but a name that is not valid UTF-8
    // cannot be told to the app (nor opened by it from a JSON string): not sent.
    gchar* utf8 = file ? g_filename_to_utf8(file, -1, nullptr, nullptr, nullptr) : nullptr;
    if (utf8 && g_path_is_absolute(utf8)) {
      Emit(Json{{"ev", "sendFile"}, {"path", std::string(utf8)}});
    } else if (file) {
      fprintf(stderr, "tether-window: the chosen file's name is not UTF-8: not sent\n");
    }
    g_free(utf8);
    g_free(file);
  }
  self->CloseChooser();  // chosen, cancelled, Escape or the close box: the dialog goes
}

}  // namespace tether_window
