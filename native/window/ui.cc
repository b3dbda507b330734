// The three windows of the support app: the app window (status, Stop sharing, Quit), the consent
// dialog and the sharing bar. Plain GTK widgets in the desktop's theme, so keyboard navigation,
// scaling and screen-reader names come with them.
#include "ui.h"

#include <X11/Xlib.h>
#include <gdk/gdkx.h>

#include <algorithm>
#include <vector>

#include "widgets.h"

namespace tether_window {
namespace {
void InstallCss() {
  static const char kCss[] =
      ".tether-bar { background-color: #303030; color: #ffffff; padding: 6px 10px;"
      "  border: 1px solid #1a1a1a; border-top: none; }"
      ".tether-bar label { color: #ffffff; }"
      ".tether-bar .tether-dot { color: #e01b24; }"
      ".tether-code { font-family: monospace; font-size: larger; }";
  GtkCssProvider* css = gtk_css_provider_new();
  gtk_css_provider_load_from_data(css, kCss, -1, nullptr);
  gtk_style_context_add_provider_for_screen(gdk_screen_get_default(), GTK_STYLE_PROVIDER(css),
                                            GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_unref(css);
}

// Screen rectangles are in device pixels (GTK's are logical: times the scale factor).
void WalkAccessible(AtkObject* o, Json& nodes, int depth, int scale) {
  if (!o || depth > 32) return;
  AtkStateSet* states = atk_object_ref_state_set(o);
  const bool showing = atk_state_set_contains_state(states, ATK_STATE_SHOWING);
  const bool sensitive = atk_state_set_contains_state(states, ATK_STATE_SENSITIVE);
  const bool focused = atk_state_set_contains_state(states, ATK_STATE_FOCUSED);
  g_object_unref(states);
  if (depth > 0 && !showing) return;
  const char* name = atk_object_get_name(o);
  if (name && *name) {
    Json node = {{"role", atk_role_get_name(atk_object_get_role(o))}, {"name", name}};
    if (!sensitive) node["insensitive"] = true;
    if (focused) node["focused"] = true;
    if (ATK_IS_COMPONENT(o)) {
      gint x = 0, y = 0, w = 0, h = 0;
      atk_component_get_extents(ATK_COMPONENT(o), &x, &y, &w, &h, ATK_XY_SCREEN);
      node["rect"] = {x * scale, y * scale, w * scale, h * scale};
    }
    nodes.push_back(node);
  }
  const int n = atk_object_get_n_accessible_children(o);
  for (int i = 0; i < n; i++) {
    AtkObject* child = atk_object_ref_accessible_child(o, i);
    WalkAccessible(child, nodes, depth + 1, scale);
    if (child) g_object_unref(child);
  }
}

}  // namespace

Ui::Ui() {
  trace_ = g_strcmp0(g_getenv("TETHER_TRACE_UI"), "1") == 0;
  InstallCss();
  BuildMain();
  raise_ = g_timeout_add(1000, OnRaise, this);
}

void Ui::BuildMain() {
  main_ = gtk_window_new(GTK_WINDOW_TOPLEVEL);
  gtk_window_set_resizable(GTK_WINDOW(main_), FALSE);
  gtk_window_set_icon_name(GTK_WINDOW(main_), "preferences-desktop-remote-desktop");
  gtk_window_set_position(GTK_WINDOW(main_), GTK_WIN_POS_CENTER);
  GtkWidget* box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
  gtk_container_set_border_width(GTK_CONTAINER(box), 18);
  gtk_container_add(GTK_CONTAINER(main_), box);

  heading_ = Label("");
  status_ = Label("");
  gtk_label_set_selectable(GTK_LABEL(status_), FALSE);
  gtk_box_pack_start(GTK_BOX(box), heading_, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(box), status_, FALSE, FALSE, 0);

  share_row_ = gtk_box_new(GTK_ORIENTATION_VERTICAL, 8);
  share_text_ = Label("");
  GtkWidget* share_buttons = gtk_button_box_new(GTK_ORIENTATION_HORIZONTAL);
  gtk_button_box_set_layout(GTK_BUTTON_BOX(share_buttons), GTK_BUTTONBOX_START);
  gtk_box_set_spacing(GTK_BOX(share_buttons), 6);
  main_narrow_ = gtk_button_new_with_label("");
  main_stop_ = gtk_button_new_with_label("");
  AddClass(main_stop_, "destructive-action");
  gtk_container_add(GTK_CONTAINER(share_buttons), main_narrow_);
  gtk_container_add(GTK_CONTAINER(share_buttons), main_stop_);
  gtk_box_pack_start(GTK_BOX(share_row_), share_text_, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(share_row_), share_buttons, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(box), share_row_, FALSE, FALSE, 0);

  GtkWidget* bottom = gtk_button_box_new(GTK_ORIENTATION_HORIZONTAL);
  gtk_button_box_set_layout(GTK_BUTTON_BOX(bottom), GTK_BUTTONBOX_END);
  quit_ = gtk_button_new_with_label("");
  gtk_container_add(GTK_CONTAINER(bottom), quit_);
  gtk_box_pack_end(GTK_BOX(box), bottom, FALSE, FALSE, 0);

  g_signal_connect(main_narrow_, "clicked", G_CALLBACK(+[](GtkButton*, gpointer) {
                     Emit(Json{{"ev", "narrow"}});
                   }),
                   nullptr);
  g_signal_connect(main_stop_, "clicked", G_CALLBACK(+[](GtkButton*, gpointer) {
                     Emit(Json{{"ev", "stop"}});
                   }),
                   nullptr);
  g_signal_connect(
      quit_, "clicked",
      G_CALLBACK(+[](GtkButton*, gpointer self) { OnMainDelete(nullptr, nullptr, self); }), this);
  g_signal_connect(main_, "delete-event", G_CALLBACK(OnMainDelete), this);
  g_signal_connect(main_, "configure-event", G_CALLBACK(OnConfigure), this);
  g_signal_connect(main_, "focus-in-event", G_CALLBACK(OnFocus), this);
  g_signal_connect(main_, "focus-out-event", G_CALLBACK(OnFocus), this);
  gtk_widget_show_all(box);
  gtk_widget_hide(share_row_);
}

void Ui::Apply(const Json& c) {
  const std::string cmd = Str(c, "cmd");
  if (cmd == "main") {
    gtk_window_set_title(GTK_WINDOW(main_), Str(c, "title").c_str());
    SetHeading(heading_, Str(c, "heading"));
    gtk_label_set_text(GTK_LABEL(status_), Str(c, "status").c_str());
    gtk_button_set_label(GTK_BUTTON(quit_), Str(c, "quit").c_str());
    gtk_button_set_label(GTK_BUTTON(main_narrow_), Str(c, "viewOnly").c_str());
    gtk_button_set_label(GTK_BUTTON(main_stop_), Str(c, "stop").c_str());
    if (!gtk_widget_get_visible(main_)) {
      gtk_widget_show(main_);
      // No button has the keyboard at first (Tab reaches them): a stray Enter typed while the
      // window appears quits nothing.
      gtk_window_set_focus(GTK_WINDOW(main_), nullptr);
    }
  } else if (cmd == "status") {
    if (!final_) gtk_label_set_text(GTK_LABEL(status_), Str(c, "text").c_str());
  } else if (cmd == "ask") {
    Ask(c);
  } else if (cmd == "unask") {
    Unask(Str(c, "id"));
  } else if (cmd == "sharing") {
    Sharing(c);
  } else if (cmd == "final") {
    Final(c);
  }
  ScheduleReport();
  ScheduleTree();
}

// --- the final message ----------------------------------------------------------------------

void Ui::Final(const Json& c) {
  final_ = true;
  Unask(ask_id_);
  Destroy(bar_);
  gtk_widget_hide(share_row_);
  gtk_label_set_text(GTK_LABEL(status_), Str(c, "text").c_str());
  gtk_button_set_label(GTK_BUTTON(quit_), Str(c, "close").c_str());
  gtk_widget_show(main_);
  gtk_window_present(GTK_WINDOW(main_));
  gtk_widget_grab_focus(quit_);
}

gboolean Ui::OnMainDelete(GtkWidget*, GdkEvent*, gpointer data) {
  auto* self = static_cast<Ui*>(data);
  if (self->final_) {
    gtk_widget_hide(self->main_);
    Emit(Json{{"ev", "closed"}});
  } else {
    Emit(Json{{"ev", "quit"}});  // the app decides; its windows go when it ends
  }
  return TRUE;
}

// --- where the windows are, for the app's input guard; the test trace ------------------------

void Ui::ReportGeometry() {
  Json rects = Json::array();
  for (GtkWidget* w : {main_, dialog_, bar_}) {
    if (!w || !gtk_widget_get_mapped(w)) continue;
    GdkRectangle r;
    gdk_window_get_frame_extents(gtk_widget_get_window(w), &r);
    const int s = std::max(1, gtk_widget_get_scale_factor(w));
    rects.push_back({r.x * s, r.y * s, r.width * s, r.height * s});
  }
  focused_ = (main_ && gtk_window_is_active(GTK_WINDOW(main_))) ||
             (dialog_ && gtk_window_is_active(GTK_WINDOW(dialog_)));
  Json ev = {{"ev", "geometry"}, {"rects", rects}, {"focused", focused_}};
  const std::string key = ev.dump();
  if (key == last_geometry_) return;
  last_geometry_ = key;
  Emit(ev);
}

void Ui::ScheduleReport() {
  if (!report_) report_ = g_idle_add(OnReport, this);
}

gboolean Ui::OnReport(gpointer data) {
  auto* self = static_cast<Ui*>(data);
  self->report_ = 0;
  self->ReportGeometry();
  return G_SOURCE_REMOVE;
}

gboolean Ui::OnConfigure(GtkWidget* w, GdkEvent*, gpointer data) {
  auto* self = static_cast<Ui*>(data);
  if (w == self->bar_) self->PlaceBar();  // centred on the shared screen whatever its new size
  self->ScheduleReport();
  self->ScheduleTree();
  return FALSE;
}

gboolean Ui::OnFocus(GtkWidget*, GdkEvent*, gpointer data) {
  static_cast<Ui*>(data)->ScheduleReport();
  static_cast<Ui*>(data)->ScheduleTree();
  return FALSE;
}

void Ui::ScheduleTree() {
  if (trace_ && !tree_) tree_ = g_timeout_add(50, OnTree, this);
}

gboolean Ui::OnTree(gpointer data) {
  auto* self = static_cast<Ui*>(data);
  self->tree_ = 0;
  self->EmitTree();
  return G_SOURCE_REMOVE;
}

void Ui::EmitTree() {
  Json windows = Json::array();
  const char* kinds[3] = {"main", "dialog", "bar"};
  GtkWidget* all[3] = {main_, dialog_, bar_};
  for (int i = 0; i < 3; i++) {
    if (!all[i] || !gtk_widget_get_mapped(all[i])) continue;
    Json nodes = Json::array();
    WalkAccessible(gtk_widget_get_accessible(all[i]), nodes, 0,
                   std::max(1, gtk_widget_get_scale_factor(all[i])));
    windows.push_back({{"kind", kinds[i]},
                       {"title", std::string(gtk_window_get_title(GTK_WINDOW(all[i]))
                                                 ? gtk_window_get_title(GTK_WINDOW(all[i]))
                                                 : "")},
                       {"nodes", nodes}});
  }
  Emit(Json{{"ev", "tree"}, {"windows", windows}});
}

}  // namespace tether_window
