// File questions (issue 21): one dialog per file, "Jane Doe sends report.pdf (2.1 MB)" with where
// it goes, and Decline (with the keyboard) / Accept. The consent dialog's rules: Accept is armed
// only kArmDelayMs after the dialog appears, a key held down when it appeared answers nothing until
// released, Escape and the close box decline.
#include <algorithm>

#include "ui.h"
#include "widgets.h"

namespace tether_window {

void Ui::AskFile(const Json& c) {
  const std::string id = Str(c, "id");
  if (final_ || id.empty()) return;
  UnaskFile(id);  // the same file asked again: the new question replaces the old one
  auto owned = std::make_unique<FileDialog>();
  FileDialog* f = owned.get();
  f->ui = this;
  f->id = id;
  f->window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
  GtkWindow* w = GTK_WINDOW(f->window);
  GtkWidget* box = QuestionWindow(w, GTK_WINDOW(main_), Str(c, "title"));
  GtkWidget* heading = Label("");
  SetHeading(heading, Str(c, "heading"));
  gtk_box_pack_start(GTK_BOX(box), heading, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(box), Label(Str(c, "body")), FALSE, FALSE, 0);

  GtkWidget* buttons = gtk_button_box_new(GTK_ORIENTATION_HORIZONTAL);
  gtk_button_box_set_layout(GTK_BUTTON_BOX(buttons), GTK_BUTTONBOX_END);
  gtk_box_set_spacing(GTK_BOX(buttons), 6);
  gtk_widget_set_margin_top(buttons, 8);
  f->decline = gtk_button_new_with_label(Str(c, "decline").c_str());
  f->accept = gtk_button_new_with_label(Str(c, "accept").c_str());
  gtk_widget_set_sensitive(f->accept, FALSE);  // armed after kArmDelayMs
  g_signal_connect(f->decline, "clicked", G_CALLBACK(+[](GtkButton*, gpointer file) {
                     auto* f = static_cast<FileDialog*>(file);
                     f->ui->FileAnswer(f, "decline");
                   }),
                   f);
  g_signal_connect(f->accept, "clicked", G_CALLBACK(+[](GtkButton*, gpointer file) {
                     auto* f = static_cast<FileDialog*>(file);
                     f->ui->FileAnswer(f, "accept");
                   }),
                   f);
  gtk_container_add(GTK_CONTAINER(buttons), f->decline);
  gtk_container_add(GTK_CONTAINER(buttons), f->accept);
  gtk_box_pack_start(GTK_BOX(box), buttons, FALSE, FALSE, 0);

  g_signal_connect(f->window, "delete-event", G_CALLBACK(OnFileDelete), f);
  g_signal_connect(f->window, "key-press-event", G_CALLBACK(OnFileKey), f);
  g_signal_connect(f->window, "key-release-event", G_CALLBACK(OnFileKey), f);
  g_signal_connect(f->window, "map-event", G_CALLBACK(OnFileMapped), f);
  g_signal_connect(f->window, "configure-event", G_CALLBACK(OnConfigure), this);
  g_signal_connect(f->window, "focus-in-event", G_CALLBACK(OnFocus), this);
  g_signal_connect(f->window, "focus-out-event", G_CALLBACK(OnFocus), this);
  files_.push_back(std::move(owned));
  // Keys held while the dialog appears are read now, before it can take any: see OnFileKey.
  f->held.Read();
  gtk_widget_show_all(f->window);
  gtk_widget_grab_focus(f->decline);
  gtk_window_present(w);
}

void Ui::UnaskFile(const std::string& id) {
  const auto it =
      std::find_if(files_.begin(), files_.end(), [&](const auto& f) { return f->id == id; });
  if (it == files_.end()) return;
  std::unique_ptr<FileDialog> f = std::move(*it);
  files_.erase(it);
  if (f->arm) g_source_remove(f->arm);
  Destroy(f->window);
  ScheduleReport();
  ScheduleTree();
}

void Ui::FileAnswer(FileDialog* f, const char* answer) {
  const std::string id = f->id;  // f goes with its dialog
  Emit(Json{{"ev", "fileAnswer"}, {"id", id}, {"answer", answer}});
  UnaskFile(id);
}

gboolean Ui::OnFileArm(gpointer file) {
  auto* f = static_cast<FileDialog*>(file);
  f->arm = 0;
  gtk_widget_set_sensitive(f->accept, TRUE);
  f->ui->ScheduleTree();
  return G_SOURCE_REMOVE;
}

gboolean Ui::OnFileMapped(GtkWidget*, GdkEvent*, gpointer file) {
  auto* f = static_cast<FileDialog*>(file);
  if (!f->arm && !gtk_widget_get_sensitive(f->accept))
    f->arm = g_timeout_add(kArmDelayMs, OnFileArm, f);
  f->ui->ScheduleReport();
  f->ui->ScheduleTree();
  return FALSE;
}

gboolean Ui::OnFileDelete(GtkWidget*, GdkEvent*, gpointer file) {
  auto* f = static_cast<FileDialog*>(file);
  f->ui->FileAnswer(f, "decline");
  return TRUE;
}

gboolean Ui::OnFileKey(GtkWidget*, GdkEventKey* e, gpointer file) {
  auto* f = static_cast<FileDialog*>(file);
  // A key that was down when the dialog appeared (or its auto-repeat) answers nothing.
  if (f->held.Swallow(e)) return TRUE;
  if (e->type == GDK_KEY_PRESS && e->keyval == GDK_KEY_Escape) {
    f->ui->FileAnswer(f, "decline");
    return TRUE;
  }
  return FALSE;
}

}  // namespace tether_window
