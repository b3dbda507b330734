// The consent dialog: who asks, for what, the safety code, the time left, and Decline (focused) /
// View only / Allow. Nothing answers by accident: the granting buttons are armed only after a
// moment, a key held down when the dialog appeared answers nothing, Escape and the close box
// decline.
#include <X11/Xlib.h>
#include <gdk/gdkx.h>

#include <algorithm>

#include "ui.h"
#include "widgets.h"

namespace tether_window {

void HeldKeys::Read() {
  XQueryKeymap(GDK_DISPLAY_XDISPLAY(gdk_display_get_default()), down);
}

bool HeldKeys::Swallow(const GdkEventKey* e) {
  const guint16 k = e->hardware_keycode;
  const char bit = static_cast<char>(1 << (k % 8));
  if (k >= 256 || !(down[k / 8] & bit)) return false;
  if (e->type == GDK_KEY_RELEASE) down[k / 8] &= static_cast<char>(~bit);  // the next press counts
  return true;
}

void Ui::Ask(const Json& c) {
  Unask(ask_id_);
  ask_id_ = Str(c, "id");
  dialog_ = gtk_window_new(GTK_WINDOW_TOPLEVEL);
  GtkWidget* box = QuestionWindow(GTK_WINDOW(dialog_), GTK_WINDOW(main_), Str(c, "title"));

  GtkWidget* heading = Label("");
  SetHeading(heading, Str(c, "heading"));
  gtk_box_pack_start(GTK_BOX(box), heading, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(box), Label(Str(c, "body")), FALSE, FALSE, 0);
  const std::string code = Str(c, "code");
  if (!code.empty()) {
    GtkWidget* l = Label(code);
    AddClass(l, "tether-code");
    gtk_box_pack_start(GTK_BOX(box), l, FALSE, FALSE, 0);
  }
  time_template_ = Str(c, "timeLeft");
  time_left_ = Label("");
  AddClass(time_left_, "dim-label");
  gtk_box_pack_start(GTK_BOX(box), time_left_, FALSE, FALSE, 0);
  deadline_us_ = g_get_monotonic_time() + ExpiresInMs(c) * 1000;
  UpdateTimeLeft();

  GtkWidget* buttons = gtk_button_box_new(GTK_ORIENTATION_HORIZONTAL);
  gtk_button_box_set_layout(GTK_BUTTON_BOX(buttons), GTK_BUTTONBOX_END);
  gtk_box_set_spacing(GTK_BOX(buttons), 6);
  gtk_widget_set_margin_top(buttons, 8);
  static const char* kAnswers[3] = {"decline", "view", "allow"};
  const std::string labels[3] = {Str(c, "decline"), Str(c, "viewOnly"), Str(c, "allow")};
  for (int i = 0; i < 3; i++) {
    buttons_[i] = nullptr;
    if (labels[i].empty()) continue;  // "View only" only when control is asked
    buttons_[i] = gtk_button_new_with_label(labels[i].c_str());
    g_object_set_data(G_OBJECT(buttons_[i]), "answer", const_cast<char*>(kAnswers[i]));
    g_signal_connect(buttons_[i], "clicked", G_CALLBACK(+[](GtkButton* b, gpointer self) {
                       static_cast<Ui*>(self)->Answer(
                           static_cast<const char*>(g_object_get_data(G_OBJECT(b), "answer")));
                     }),
                     this);
    if (i > 0) gtk_widget_set_sensitive(buttons_[i], FALSE);  // armed after kArmDelayMs
    gtk_container_add(GTK_CONTAINER(buttons), buttons_[i]);
  }
  gtk_box_pack_start(GTK_BOX(box), buttons, FALSE, FALSE, 0);

  g_signal_connect(dialog_, "delete-event", G_CALLBACK(OnDialogDelete), this);
  g_signal_connect(dialog_, "key-press-event", G_CALLBACK(OnDialogKey), this);
  g_signal_connect(dialog_, "key-release-event", G_CALLBACK(OnDialogKeyRelease), this);
  g_signal_connect(dialog_, "map-event", G_CALLBACK(OnDialogMapped), this);
  g_signal_connect(dialog_, "configure-event", G_CALLBACK(OnConfigure), this);
  g_signal_connect(dialog_, "focus-in-event", G_CALLBACK(OnFocus), this);
  g_signal_connect(dialog_, "focus-out-event", G_CALLBACK(OnFocus), this);
  // Keys held while the dialog appears are read now, before it can take any: see OnDialogKey.
  held_.Read();
  gtk_widget_show_all(dialog_);
  gtk_widget_grab_focus(buttons_[0]);
  gtk_window_present(GTK_WINDOW(dialog_));
  tick_ = g_timeout_add(250, OnTick, this);
}

void Ui::Unask(const std::string& id) {
  if (!dialog_ || id != ask_id_) return;
  if (tick_) g_source_remove(tick_);
  if (arm_) g_source_remove(arm_);
  tick_ = arm_ = 0;
  Destroy(dialog_);
  time_left_ = nullptr;
  std::fill(std::begin(buttons_), std::end(buttons_), nullptr);
  ask_id_.clear();
  ScheduleReport();
  ScheduleTree();
}

void Ui::Answer(const char* answer) {
  if (!dialog_) return;
  Emit(Json{{"ev", "answer"}, {"id", ask_id_}, {"answer", answer}});
  Unask(ask_id_);
}

void Ui::UpdateTimeLeft() {
  if (!time_left_) return;
  const std::string text =
      TimeLeftText(time_template_, (deadline_us_ - g_get_monotonic_time()) / 1000);
  gtk_label_set_text(GTK_LABEL(time_left_), text.c_str());
}

gboolean Ui::OnTick(gpointer self) {
  static_cast<Ui*>(self)->UpdateTimeLeft();
  return G_SOURCE_CONTINUE;
}

gboolean Ui::OnArm(gpointer data) {
  auto* self = static_cast<Ui*>(data);
  self->arm_ = 0;
  for (int i = 1; i < 3; i++)
    if (self->buttons_[i]) gtk_widget_set_sensitive(self->buttons_[i], TRUE);
  self->ScheduleTree();
  return G_SOURCE_REMOVE;
}

gboolean Ui::OnDialogMapped(GtkWidget*, GdkEvent*, gpointer data) {
  auto* self = static_cast<Ui*>(data);
  if (!self->arm_) self->arm_ = g_timeout_add(kArmDelayMs, OnArm, self);
  self->ScheduleReport();
  self->ScheduleTree();
  return FALSE;
}

gboolean Ui::OnDialogDelete(GtkWidget*, GdkEvent*, gpointer self) {
  static_cast<Ui*>(self)->Answer("decline");
  return TRUE;
}

gboolean Ui::OnDialogKey(GtkWidget*, GdkEventKey* e, gpointer data) {
  auto* self = static_cast<Ui*>(data);
  // A key that was down when the dialog appeared (or its auto-repeat) answers nothing.
  if (self->held_.Swallow(e)) return TRUE;
  if (e->keyval == GDK_KEY_Escape) {
    self->Answer("decline");
    return TRUE;
  }
  return FALSE;
}

gboolean Ui::OnDialogKeyRelease(GtkWidget*, GdkEventKey* e, gpointer data) {
  return static_cast<Ui*>(data)->held_.Swallow(e);
}

}  // namespace tether_window
