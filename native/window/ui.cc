// The three windows of the support app: the app window (status, Stop sharing, Quit), the consent
// dialog and the sharing bar. Plain GTK widgets in the desktop's theme, so keyboard navigation,
// scaling and screen-reader names come with them.
#include "ui.h"

#include <X11/Xlib.h>
#include <gdk/gdkx.h>

#include <algorithm>
#include <vector>

namespace tether_window {
namespace {

// Buttons that grant stay insensitive this long after the dialog appears: a click or a key meant
// for another window in that moment must not answer (browsers' security dialogs do the same).
constexpr guint kArmDelayMs = 700;

std::string Str(const Json& c, const char* key) {
  auto it = c.find(key);
  return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
}

GtkWidget* Label(const std::string& text, bool wrap = true) {
  GtkWidget* l = gtk_label_new(text.c_str());
  gtk_label_set_xalign(GTK_LABEL(l), 0.0f);
  if (wrap) {
    gtk_label_set_line_wrap(GTK_LABEL(l), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(l), 52);
    gtk_label_set_width_chars(GTK_LABEL(l), 40);
  }
  return l;
}

void SetHeading(GtkWidget* label, const std::string& text) {
  gchar* markup =
      g_markup_printf_escaped("<span weight=\"bold\" size=\"large\">%s</span>", text.c_str());
  gtk_label_set_markup(GTK_LABEL(label), markup);
  g_free(markup);
}

void AddClass(GtkWidget* w, const char* name) {
  gtk_style_context_add_class(gtk_widget_get_style_context(w), name);
}

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

void WalkAccessible(AtkObject* o, Json& nodes, int depth) {
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
    nodes.push_back(node);
  }
  const int n = atk_object_get_n_accessible_children(o);
  for (int i = 0; i < n; i++) {
    AtkObject* child = atk_object_ref_accessible_child(o, i);
    WalkAccessible(child, nodes, depth + 1);
    if (child) g_object_unref(child);
  }
}

void Destroy(GtkWidget*& w) {
  if (w) gtk_widget_destroy(w);
  w = nullptr;
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
    gtk_widget_show(main_);
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

// --- the consent dialog ---------------------------------------------------------------------

void Ui::Ask(const Json& c) {
  Unask(ask_id_);
  ask_id_ = Str(c, "id");
  dialog_ = gtk_window_new(GTK_WINDOW_TOPLEVEL);
  gtk_window_set_title(GTK_WINDOW(dialog_), Str(c, "title").c_str());
  gtk_window_set_type_hint(GTK_WINDOW(dialog_), GDK_WINDOW_TYPE_HINT_DIALOG);
  gtk_window_set_transient_for(GTK_WINDOW(dialog_), GTK_WINDOW(main_));
  gtk_window_set_position(GTK_WINDOW(dialog_), GTK_WIN_POS_CENTER);
  gtk_window_set_keep_above(GTK_WINDOW(dialog_), TRUE);
  gtk_window_set_urgency_hint(GTK_WINDOW(dialog_), TRUE);
  gtk_window_set_resizable(GTK_WINDOW(dialog_), FALSE);
  gtk_window_set_icon_name(GTK_WINDOW(dialog_), "dialog-question");

  GtkWidget* outer = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 16);
  gtk_container_set_border_width(GTK_CONTAINER(outer), 18);
  GtkWidget* icon = gtk_image_new_from_icon_name("dialog-question", GTK_ICON_SIZE_DIALOG);
  gtk_widget_set_valign(icon, GTK_ALIGN_START);
  gtk_box_pack_start(GTK_BOX(outer), icon, FALSE, FALSE, 0);
  GtkWidget* box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 10);
  gtk_box_pack_start(GTK_BOX(outer), box, TRUE, TRUE, 0);
  gtk_container_add(GTK_CONTAINER(dialog_), outer);

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
  const double expires_ms = c.value("expiresInMs", 0.0);
  deadline_us_ =
      g_get_monotonic_time() + static_cast<gint64>(std::clamp(expires_ms, 0.0, 3.6e6) * 1000);
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
  XQueryKeymap(GDK_DISPLAY_XDISPLAY(gdk_display_get_default()), held_);
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
  const gint64 left_s =
      std::max<gint64>(0, (deadline_us_ - g_get_monotonic_time() + 999999) / 1000000);
  std::string text = time_template_;
  const std::string time = std::to_string(left_s / 60) + ":" + (left_s % 60 < 10 ? "0" : "") +
                           std::to_string(left_s % 60);
  const size_t at = text.find("{time}");
  if (at != std::string::npos) text.replace(at, 6, time);
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
  const guint16 k = e->hardware_keycode;
  // A key that was down when the dialog appeared (or its auto-repeat) answers nothing.
  if (k < 256 && (self->held_[k / 8] & (1 << (k % 8)))) return TRUE;
  if (e->keyval == GDK_KEY_Escape) {
    self->Answer("decline");
    return TRUE;
  }
  return FALSE;
}

gboolean Ui::OnDialogKeyRelease(GtkWidget*, GdkEventKey* e, gpointer data) {
  auto* self = static_cast<Ui*>(data);
  const guint16 k = e->hardware_keycode;
  if (k < 256 && (self->held_[k / 8] & (1 << (k % 8)))) {
    self->held_[k / 8] &= static_cast<char>(~(1 << (k % 8)));
    return TRUE;
  }
  return FALSE;
}

// --- the sharing bar ------------------------------------------------------------------------

void Ui::Sharing(const Json& c) {
  const std::string text = Str(c, "text");
  const bool narrow = c.value("canNarrow", false);
  if (text.empty()) {
    Destroy(bar_);
    bar_text_ = bar_recording_ = bar_narrow_ = nullptr;
    gtk_widget_hide(share_row_);
    return;
  }
  const auto area = c.find("area");
  if (area != c.end() && area->is_array() && area->size() == 4) {
    for (int i = 0; i < 4; i++)
      area_[i] = (*area)[i].is_number_integer() ? (*area)[i].get<int>() : 0;
  } else {
    std::fill(std::begin(area_), std::end(area_), 0);
  }
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
    WalkAccessible(gtk_widget_get_accessible(all[i]), nodes, 0);
    windows.push_back({{"kind", kinds[i]},
                       {"title", std::string(gtk_window_get_title(GTK_WINDOW(all[i]))
                                                 ? gtk_window_get_title(GTK_WINDOW(all[i]))
                                                 : "")},
                       {"nodes", nodes}});
  }
  Emit(Json{{"ev", "tree"}, {"windows", windows}});
}

}  // namespace tether_window
