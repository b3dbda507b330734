// The sharing bar: while anything is shared, at the top of the shared screen, above everything,
// naming who views or controls, with View only and Stop sharing.
#include <algorithm>

#include "ui.h"
#include "widgets.h"

namespace tether_window {

void Ui::Sharing(const Json& c) {
  const std::string text = Str(c, "text");
  const bool narrow = c.value("canNarrow", false);
  if (text.empty()) {
    Destroy(bar_);
    bar_text_ = bar_recording_ = bar_narrow_ = nullptr;
    gtk_widget_hide(share_row_);
    return;
  }
  Area(c, area_);
  gtk_label_set_text(GTK_LABEL(share_text_), text.c_str());
  gtk_widget_set_visible(main_narrow_, narrow);
  gtk_widget_show(share_row_);

  if (!bar_) {
    // Override-redirect: no window manager moves, hides or focuses it; it raises itself whenever
    // anything covers it, so it stays on top of full-screen windows too.
    bar_ = gtk_window_new(GTK_WINDOW_POPUP);
    gtk_window_set_title(GTK_WINDOW(bar_), Str(c, "title").c_str());
    gtk_window_set_type_hint(GTK_WINDOW(bar_), GDK_WINDOW_TYPE_HINT_NOTIFICATION);
    GtkWidget* box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 10);
    AddClass(box, "tether-bar");
    AddClass(box, "osd");
    GtkWidget* dot = gtk_label_new("\u25CF");
    AddClass(dot, "tether-dot");
    bar_text_ = gtk_label_new("");
    bar_recording_ = gtk_label_new("");
    bar_narrow_ = gtk_button_new_with_label("");
    GtkWidget* stop = gtk_button_new_with_label(Str(c, "stop").c_str());
    AddClass(stop, "destructive-action");
    gtk_box_pack_start(GTK_BOX(box), dot, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), bar_text_, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), bar_recording_, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), bar_narrow_, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), stop, FALSE, FALSE, 0);
    gtk_container_add(GTK_CONTAINER(bar_), box);
    g_signal_connect(bar_narrow_, "clicked", G_CALLBACK(+[](GtkButton*, gpointer) {
                       Emit(Json{{"ev", "narrow"}});
                     }),
                     nullptr);
    g_signal_connect(stop, "clicked", G_CALLBACK(+[](GtkButton*, gpointer) {
                       Emit(Json{{"ev", "stop"}});
                     }),
                     nullptr);
    gtk_widget_add_events(bar_, GDK_VISIBILITY_NOTIFY_MASK);
    g_signal_connect(bar_, "visibility-notify-event",
                     G_CALLBACK(+[](GtkWidget* w, GdkEventVisibility* e, gpointer) {
                       if (e->state != GDK_VISIBILITY_UNOBSCURED)
                         gdk_window_raise(gtk_widget_get_window(w));
                       return FALSE;
                     }),
                     nullptr);
    g_signal_connect(bar_, "configure-event", G_CALLBACK(OnConfigure), this);
    gtk_widget_show_all(box);
  }
  gtk_label_set_text(GTK_LABEL(bar_text_), text.c_str());
  const std::string recording = Str(c, "recording");
  gtk_label_set_text(GTK_LABEL(bar_recording_), recording.c_str());
  gtk_widget_set_visible(bar_recording_, !recording.empty());
  gtk_button_set_label(GTK_BUTTON(bar_narrow_), Str(c, "viewOnly").c_str());
  gtk_widget_set_visible(bar_narrow_, narrow);
  gtk_window_resize(GTK_WINDOW(bar_), 1, 1);  // shrink to the new contents
  PlaceBar();
  gtk_widget_show(bar_);
  gdk_window_raise(gtk_widget_get_window(bar_));
}

void Ui::PlaceBar() {
  if (!bar_) return;
  GtkRequisition size;
  gtk_widget_get_preferred_size(bar_, nullptr, &size);
  const int scale = std::max(1, gtk_widget_get_scale_factor(bar_));
  GdkRectangle r;
  if (area_[2] > 0 && area_[3] > 0) {
    r = {area_[0] / scale, area_[1] / scale, area_[2] / scale, area_[3] / scale};
  } else {
    GdkDisplay* display = gdk_display_get_default();
    GdkMonitor* m = gdk_display_get_primary_monitor(display);
    if (!m) m = gdk_display_get_monitor(display, 0);
    if (m)
      gdk_monitor_get_geometry(m, &r);
    else
      r = {0, 0, 1024, 768};
  }
  gtk_window_move(GTK_WINDOW(bar_), r.x + std::max(0, (r.width - size.width) / 2), r.y);
}

gboolean Ui::OnRaise(gpointer data) {
  auto* self = static_cast<Ui*>(data);
  if (self->bar_ && gtk_widget_get_visible(self->bar_))
    gdk_window_raise(gtk_widget_get_window(self->bar_));
  return G_SOURCE_CONTINUE;
}

}  // namespace tether_window
