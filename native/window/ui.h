// tether-window: the support app's windows (GTK 3), in a process of their own.
//
// The support app (src/agent/window-ui.ts) starts this program and talks to it in JSON lines: it
// sends what to show (status, a consent question, the sharing bar, the final message) and receives
// what the user did (answer, stop, view only, quit, closed) plus where the windows are (so that
// the technician's input can never reach them). Every word shown comes from the app, in the
// user's language; this program only lays it out. The protocol: protocol.h (shared with the
// Win32 program in win32/). See README "The support app's window".
#pragma once

#include <gtk/gtk.h>

#include <memory>
#include <string>
#include <vector>

#include "protocol.h"

namespace tether_window {

/** Writes one event line to the app (stdout). */
void Emit(const Json& event);

/**
 * Keys that were down when a dialog appeared (X keycodes): their presses, auto-repeat included,
 * answer nothing until they are released. Read() before the dialog can take the keyboard.
 */
struct HeldKeys {
  char down[32] = {};
  void Read();
  /** True when `e` (a press or release) belongs to such a key: swallow it. A release frees it. */
  bool Swallow(const GdkEventKey* e);
};

class Ui;

/** One file question (askFile): its own dialog, answered once. Owned by Ui::files_. */
struct FileDialog {
  Ui* ui = nullptr;
  std::string id;
  GtkWidget* window = nullptr;
  GtkWidget* accept = nullptr;  // armed kArmDelayMs after the dialog appears
  GtkWidget* decline = nullptr;
  HeldKeys held;
  guint arm = 0;
};

/** One row of the file transfers section (transfers). Owned by Ui::rows_. */
struct TransferRow {
  std::string id;
  GtkWidget* box = nullptr;
  GtkWidget* text = nullptr;
  GtkWidget* bar = nullptr;
  GtkWidget* cancel = nullptr;
};

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
  void AddChat(const Json& c);
  void SendChat();
  // File questions (file_dialog.cc).
  void AskFile(const Json& c);
  void UnaskFile(const std::string& id);
  void FileAnswer(FileDialog* f, const char* answer);
  static gboolean OnFileDelete(GtkWidget*, GdkEvent*, gpointer file);
  static gboolean OnFileKey(GtkWidget*, GdkEventKey*, gpointer file);
  static gboolean OnFileMapped(GtkWidget*, GdkEvent*, gpointer file);
  static gboolean OnFileArm(gpointer file);
  // The clipboard switch and the transfers section of the app window (transfers.cc).
  void BuildTools(GtkWidget* box);
  void Transfers(const Json& c);
  void ClipboardSwitch(const Json& c);
  // Send a file: the button and the open-file dialog (send_file.cc).
  void BuildSendFile(GtkWidget* box);
  void SendFile(const Json& c);
  void OpenChooser();
  /** Closes the open-file dialog, if open, without an event. */
  void CloseChooser();
  static void OnChooserResponse(GtkDialog*, gint response, gpointer self);
  // The system clipboard (clipboard.cc).
  void WatchClipboard(bool on);
  void SetClipboard(const std::string& text);
  void ReadClipboard(bool copied);
  static void OnOwnerChange(GtkClipboard*, GdkEvent*, gpointer self);

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

  /** The chat area: shown once "main" names its button. */
  GtkWidget* chat_box_ = nullptr;
  GtkWidget* chat_scroll_ = nullptr;
  GtkWidget* chat_list_ = nullptr;
  GtkWidget* chat_entry_ = nullptr;
  GtkWidget* chat_send_ = nullptr;

  GtkWidget* dialog_ = nullptr;
  GtkWidget* time_left_ = nullptr;
  GtkWidget* buttons_[3] = {nullptr, nullptr, nullptr};  // decline, view only, allow
  std::string ask_id_;
  std::string time_template_;
  gint64 deadline_us_ = 0;
  guint tick_ = 0;
  guint arm_ = 0;
  /** Keys down when the dialog appeared: ignored until released (nothing answers by a held key). */
  HeldKeys held_;

  /** The open file questions, oldest first. */
  std::vector<std::unique_ptr<FileDialog>> files_;

  /** The transfers section: a heading and one row per transfer, in the order last sent. */
  GtkWidget* transfers_box_ = nullptr;
  GtkWidget* transfers_heading_ = nullptr;
  GtkWidget* rows_box_ = nullptr;
  std::vector<std::unique_ptr<TransferRow>> rows_;
  /** The clipboard switch; `switching_` while the app sets it (no event for that). */
  GtkWidget* clip_check_ = nullptr;
  bool switching_ = false;
  /** Send a file: the button (in its row), the open-file dialog while open, and its title. */
  GtkWidget* send_row_ = nullptr;
  GtkWidget* send_button_ = nullptr;
  GtkWidget* chooser_ = nullptr;
  std::string send_title_;

  GtkClipboard* clipboard_ = nullptr;
  /** watchClipboard on: each new owner's text is reported. */
  bool watch_ = false;
  /**
   * We own the clipboard (setClipboard) until GTK clears our contents: owner changes seen while
   * we own it are our own, and not reported.
   */
  bool own_clipboard_ = false;

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
