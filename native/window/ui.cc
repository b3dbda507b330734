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
      ".tether-code { font-family: monospace; font-size: larger; }"
      ".tether-chat-own { color: #26a269; }";
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
  GtkWidget* widget = GTK_IS_ACCESSIBLE(o) ? gtk_accessible_get_widget(GTK_ACCESSIBLE(o)) : nullptr;
  const char* name = atk_object_get_name(o);
  // An entry without a name of its own (the open-file dialog's location) is named by its text, as
  // the Win32 trace names edit boxes: a test sees what was typed before it presses Enter.
  if ((!name || !*name) && widget && GTK_IS_ENTRY(widget))
    name = gtk_entry_get_text(GTK_ENTRY(widget));
  if (name && *name) {
    Json node = {{"role", atk_role_get_name(atk_object_get_role(o))}, {"name", name}};
    if (!sensitive) node["insensitive"] = true;
    if (focused) node["focused"] = true;
    if (widget && GTK_IS_CHECK_BUTTON(widget))
      node["checked"] = gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(widget)) != FALSE;
    if (widget && GTK_IS_PROGRESS_BAR(widget))
      node["fraction"] = gtk_progress_bar_get_fraction(GTK_PROGRESS_BAR(widget));
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
  // Every window's changes reach the geometry report, also those of the windows GTK makes by itself
  // (the open-file dialog's completion list and menus, a context menu): GDK's events pass here
  // before GTK handles them as it would anyway.
  gdk_event_handler_set(
      +[](GdkEvent* e, gpointer self) {
        const GdkEventType t = e->type;
        auto* ui = static_cast<Ui*>(self);
        if (t == GDK_CONFIGURE || t == GDK_MAP || t == GDK_UNMAP || t == GDK_FOCUS_CHANGE)
          ui->ScheduleReport();
        gtk_main_do_event(e);
        // The trace follows typing (an entry's text is in it), once the key has done its work.
        if (t == GDK_KEY_RELEASE && ui->trace_) ui->ScheduleTree();
      },
      this, nullptr);
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
  BuildTools(box);  // the clipboard switch, the transfers, send a file (hidden until asked for)

  // The chat with the technician: the messages, a line to write and Send.
  chat_box_ = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
  chat_scroll_ = gtk_scrolled_window_new(nullptr, nullptr);
  gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(chat_scroll_), GTK_POLICY_NEVER,
                                 GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_shadow_type(GTK_SCROLLED_WINDOW(chat_scroll_), GTK_SHADOW_IN);
  gtk_widget_set_size_request(chat_scroll_, 420, 120);
  chat_list_ = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
  gtk_container_set_border_width(GTK_CONTAINER(chat_list_), 6);
  gtk_container_add(GTK_CONTAINER(chat_scroll_), chat_list_);
  GtkWidget* chat_row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  chat_entry_ = gtk_entry_new();
  gtk_entry_set_max_length(GTK_ENTRY(chat_entry_), kMaxChat);
  chat_send_ = gtk_button_new_with_label("");
  gtk_box_pack_start(GTK_BOX(chat_row), chat_entry_, TRUE, TRUE, 0);
  gtk_box_pack_start(GTK_BOX(chat_row), chat_send_, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(chat_box_), chat_scroll_, TRUE, TRUE, 0);
  gtk_box_pack_start(GTK_BOX(chat_box_), chat_row, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(box), chat_box_, TRUE, TRUE, 0);
  g_signal_connect(
      chat_entry_, "activate",
      G_CALLBACK(+[](GtkEntry*, gpointer self) { static_cast<Ui*>(self)->SendChat(); }), this);
  g_signal_connect(
      chat_send_, "clicked",
      G_CALLBACK(+[](GtkButton*, gpointer self) { static_cast<Ui*>(self)->SendChat(); }), this);

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
  // A row shown or hidden in a window that keeps its size is laid out without a configure event,
  // and until it is laid out the accessibility tree leaves it out: the trace describes the window
  // again once GTK has placed its widgets (a CI run's tree, taken 50 ms after a command under load,
  // missed two rows for good).
  g_signal_connect(main_, "size-allocate",
                   G_CALLBACK(+[](GtkWidget*, GdkRectangle*, gpointer self) {
                     static_cast<Ui*>(self)->ScheduleTree();
                   }),
                   this);
  g_signal_connect(main_, "focus-in-event", G_CALLBACK(OnFocus), this);
  g_signal_connect(main_, "focus-out-event", G_CALLBACK(OnFocus), this);
  // Which widget has the keyboard changes the tree (the chat entry, the buttons).
  g_signal_connect(main_, "set-focus", G_CALLBACK(+[](GtkWindow*, GtkWidget*, gpointer self) {
                     static_cast<Ui*>(self)->ScheduleTree();
                   }),
                   this);
  gtk_widget_show_all(box);
  gtk_widget_hide(share_row_);
  gtk_widget_hide(chat_box_);
  gtk_widget_hide(clip_check_);
  gtk_widget_hide(transfers_box_);
  gtk_widget_hide(send_row_);
}

void Ui::AddChat(const Json& c) {
  const std::string line = Str(c, "name") + ": " + Str(c, "text");
  GtkWidget* l = Label(line);
  gtk_label_set_selectable(GTK_LABEL(l), TRUE);
  gtk_widget_set_can_focus(l, FALSE);  // selectable for copying, but never the keyboard's stop
  if (Str(c, "from") == "user") AddClass(l, "tether-chat-own");
  gtk_box_pack_start(GTK_BOX(chat_list_), l, FALSE, FALSE, 0);
  gtk_widget_show(l);
  // Keep the newest in view once the list has its new size.
  g_idle_add(
      +[](gpointer scroll) -> gboolean {
        GtkAdjustment* a = gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(scroll));
        gtk_adjustment_set_value(a, gtk_adjustment_get_upper(a));
        return G_SOURCE_REMOVE;
      },
      chat_scroll_);
}

void Ui::SendChat() {
  std::string text = gtk_entry_get_text(GTK_ENTRY(chat_entry_));
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return;
  text = text.substr(first, text.find_last_not_of(" \t") - first + 1);
  gtk_entry_set_text(GTK_ENTRY(chat_entry_), "");
  Emit(Json{{"ev", "chat"}, {"text", text}});
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
    const std::string send = Str(c, "chatSend");
    if (!send.empty() && !final_) {
      gtk_button_set_label(GTK_BUTTON(chat_send_), send.c_str());
      gtk_entry_set_placeholder_text(GTK_ENTRY(chat_entry_), Str(c, "chatPlaceholder").c_str());
      // Screen readers (and the tests' tree) name the entry by its hint.
      atk_object_set_name(gtk_widget_get_accessible(chat_entry_),
                          Str(c, "chatPlaceholder").c_str());
      gtk_widget_show(chat_box_);
    }
    if (!gtk_widget_get_visible(main_)) {
      gtk_widget_show(main_);
      // No button has the keyboard at first (Tab reaches them): a stray Enter typed while the
      // window appears quits nothing.
      gtk_window_set_focus(GTK_WINDOW(main_), nullptr);
    }
  } else if (cmd == "chat") {
    if (!final_) AddChat(c);
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
  } else if (cmd == "askFile") {
    AskFile(c);
  } else if (cmd == "unaskFile") {
    UnaskFile(Str(c, "id"));
  } else if (cmd == "transfers") {
    Transfers(c);
  } else if (cmd == "clipboardSwitch") {
    ClipboardSwitch(c);
  } else if (cmd == "sendFile") {
    SendFile(c);
  } else if (cmd == "watchClipboard") {
    WatchClipboard(Flag(c, "on"));
  } else if (cmd == "setClipboard") {
    SetClipboard(Str(c, "text"));
  } else if (cmd == "readClipboard") {
    ReadClipboard(false);
  }
  ScheduleReport();
  ScheduleTree();
}

// --- the final message ----------------------------------------------------------------------

void Ui::Final(const Json& c) {
  final_ = true;
  Unask(ask_id_);
  // No file goes either way any more: the questions and the open-file dialog close unanswered.
  while (!files_.empty()) UnaskFile(files_.front()->id);
  CloseChooser();
  Destroy(bar_);
  gtk_widget_hide(share_row_);
  gtk_widget_hide(chat_box_);
  gtk_widget_hide(clip_check_);
  gtk_widget_hide(transfers_box_);
  gtk_widget_hide(send_row_);
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
  // The app window, the consent dialog, the bar, the file questions (oldest first), the open-file
  // dialog, then any other window of ours that is shown: one GTK makes by itself, such as the
  // open-file dialog's completion list or a context menu (GDK's events schedule the report: Ui()).
  std::vector<GtkWidget*> windows = {main_, dialog_, bar_};
  for (const auto& f : files_) windows.push_back(f->window);
  windows.push_back(chooser_);
  GList* toplevels = gtk_window_list_toplevels();
  for (GList* l = toplevels; l; l = l->next) {
    GtkWidget* w = GTK_WIDGET(l->data);
    if (!GTK_IS_OFFSCREEN_WINDOW(w) &&
        std::find(windows.begin(), windows.end(), w) == windows.end())
      windows.push_back(w);
  }
  g_list_free(toplevels);
  auto rects = std::make_unique<int[][4]>(windows.size());
  int count = 0;
  bool focused = false;
  for (GtkWidget* w : windows) {
    if (!w || !gtk_widget_get_mapped(w) || !gtk_widget_get_window(w)) continue;
    if (w != bar_ && gtk_window_is_active(GTK_WINDOW(w))) focused = true;
    GdkRectangle r;
    gdk_window_get_frame_extents(gtk_widget_get_window(w), &r);
    const int s = std::max(1, gtk_widget_get_scale_factor(w));
    const int rect[4] = {r.x * s, r.y * s, r.width * s, r.height * s};
    std::copy(rect, rect + 4, rects[count++]);
  }
  focused_ = focused;
  const Json ev = GeometryEvent(rects.get(), count, focused_);
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
  struct Shown {
    const char* kind;
    GtkWidget* window;
    const std::string* id;  // a file question's
  };
  std::vector<Shown> all = {
      {"main", main_, nullptr}, {"dialog", dialog_, nullptr}, {"bar", bar_, nullptr}};
  for (const auto& f : files_) all.push_back({"file", f->window, &f->id});
  all.push_back({"chooser", chooser_, nullptr});
  for (const Shown& s : all) {
    if (!s.window || !gtk_widget_get_mapped(s.window)) continue;
    Json nodes = Json::array();
    WalkAccessible(gtk_widget_get_accessible(s.window), nodes, 0,
                   std::max(1, gtk_widget_get_scale_factor(s.window)));
    const gchar* title = gtk_window_get_title(GTK_WINDOW(s.window));
    Json w = {{"kind", s.kind}, {"title", std::string(title ? title : "")}};
    if (s.id) w["id"] = *s.id;
    if (gtk_window_is_active(GTK_WINDOW(s.window))) w["active"] = true;  // it has the keyboard
    w["nodes"] = nodes;
    windows.push_back(w);
  }
  Emit(Json{{"ev", "tree"}, {"windows", windows}});
}

}  // namespace tether_window
