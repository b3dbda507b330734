// tether-window: the support app's windows (GTK 3), in a process of their own.
//
// The support app (src/agent/window-ui.ts) starts this program and talks to it in JSON lines: it
// sends what to show (status, a consent question, the sharing bar, the final message) and receives
// what the user did (answer, stop, view only, quit, closed) plus where the windows are (so that
// the technician's input can never reach them). Every word shown comes from the app, in the
// user's language; this program only lays it out. See README "The support app's window".
#pragma once

#include <gtk/gtk.h>

#include <nlohmann/json.hpp>
#include <string>

namespace tether_window {

using Json = nlohmann::json;

/** Writes one event line to the app (stdout). */
void Emit(const Json& event);

/** The windows. All calls on GTK's main thread. */
class Ui {
 public:
  Ui();
  void Apply(const Json& command);
  /** With TETHER_TRACE_UI=1: every visible window's accessibility tree, as an event. */
  void EmitTree();

 private:
  void BuildMain();
  void Ask(const Json& c);
  void Unask(const std::string& id);
  void Answer(const char* answer);
  void Sharing(const Json& c);
  void Final(const Json& c);
  void PlaceBar();
  void ReportGeometry();
  void ScheduleReport();
  void ScheduleTree();
  void UpdateTimeLeft();

  static gboolean OnMainDelete(GtkWidget*, GdkEvent*, gpointer self);
  static gboolean OnDialogDelete(GtkWidget*, GdkEvent*, gpointer self);
  static gboolean OnDialogKey(GtkWidget*, GdkEventKey*, gpointer self);
  static gboolean OnDialogKeyRelease(GtkWidget*, GdkEventKey*, gpointer self);
  static gboolean OnDialogMapped(GtkWidget*, GdkEvent*, gpointer self);
  static gboolean OnTick(gpointer self);
  static gboolean OnArm(gpointer self);
  static gboolean OnRaise(gpointer self);
  static gboolean OnReport(gpointer self);
  static gboolean OnTree(gpointer self);
  static gboolean OnConfigure(GtkWidget*, GdkEvent*, gpointer self);
  static gboolean OnFocus(GtkWidget*, GdkEvent*, gpointer self);

  GtkWidget* main_ = nullptr;
  GtkWidget* heading_ = nullptr;
  GtkWidget* status_ = nullptr;
  GtkWidget* share_row_ = nullptr;
  GtkWidget* share_text_ = nullptr;
  GtkWidget* main_narrow_ = nullptr;
  GtkWidget* main_stop_ = nullptr;
  GtkWidget* quit_ = nullptr;
  bool final_ = false;

  GtkWidget* dialog_ = nullptr;
  GtkWidget* time_left_ = nullptr;
  GtkWidget* buttons_[3] = {nullptr, nullptr, nullptr};  // decline, view only, allow
  std::string ask_id_;
  std::string time_template_;
  gint64 deadline_us_ = 0;
  guint tick_ = 0;
  guint arm_ = 0;
  /** Keys down when the dialog appeared: ignored until released (nothing answers by a held key). */
  char held_[32] = {};

  GtkWidget* bar_ = nullptr;
  GtkWidget* bar_text_ = nullptr;
  GtkWidget* bar_recording_ = nullptr;
  GtkWidget* bar_narrow_ = nullptr;
  int area_[4] = {0, 0, 0, 0};  // x, y, width, height in device pixels; width 0: primary monitor
  guint raise_ = 0;

  bool focused_ = false;
  std::string last_geometry_;
  guint report_ = 0;
  guint tree_ = 0;
  bool trace_ = false;
};

}  // namespace tether_window
