// tether-window.exe: the support app's windows on Windows (Win32 only), in a process of their own.
//
// The same program as the GTK one on Linux (native/window/), for the same reasons and speaking the
// same JSON lines (native/window/protocol.h): the app (src/agent/window-ui.ts) says what to show,
// this program lays it out in plain Win32 controls (themed by the manifest, per-monitor DPI aware)
// and says what the user did and where its windows are. Every word shown comes from the app.
//
// Threads: every window and every member of Ui belongs to the thread that runs the message loop
// (wWinMain's). A second thread only reads standard input and posts each line to it (main.cc).
#pragma once

// windows.h first: the others need its types.
// clang-format off
#include <windows.h>
// clang-format on

#include <memory>
#include <string>
#include <vector>

#include "../protocol.h"

namespace tether_window {

/** Posted by the input thread: lParam is a std::string* (one line) the receiver deletes. */
constexpr UINT kLineMessage = WM_APP + 1;
/** Posted by the input thread when standard input ended: the app is gone. */
constexpr UINT kEndMessage = WM_APP + 2;
/** Posted to report the windows' places once the current changes are done. */
constexpr UINT kReportMessage = WM_APP + 3;

/** Writes one event line to the app (standard output). Message-loop thread. */
void Emit(const Json& event);

std::wstring Wide(const std::string& utf8);
std::string Utf8(const std::wstring& wide);

/** A control and what the test trace calls it. */
struct Control {
  HWND hwnd;
  /**
   * "label", "push button", "check box", "progress bar" (named by its window text: the transfer
   * row's line), "text" (the chat entry: named by its placeholder) or "chat" (the chat messages:
   * one "label" node each in the trace)
   */
  const char* role;
};

/** One file question (askFile) in a dialog of its own, answered once. Owned by Ui::files_. */
struct FileDialog {
  std::string id;
  HWND hwnd = nullptr;
  std::vector<Control> controls;
  HWND heading = nullptr, body = nullptr, decline = nullptr, accept = nullptr;
  /** Keys (virtual-key codes) down when the dialog appeared: ignored until released. */
  bool held[256] = {};
};

/** One row of the app window's file transfers: its line, a progress bar and (maybe) Cancel. */
struct TransferRow {
  std::string id;
  HWND text = nullptr, bar = nullptr, cancel = nullptr;
};

class Ui {
 public:
  /** Registers the window classes and creates the (hidden) app window; false if that failed. */
  bool Create(HINSTANCE instance);
  /** The app window: the input thread posts its lines here. */
  HWND main() const { return main_; }
  void Apply(const Json& command);
  /**
   * Called for every message before the dialog manager sees it; true: the message is swallowed.
   * Drops the key presses (and their repeats and releases) of keys that were down when the consent
   * dialog appeared. In the chat messages (a multi-line edit, which wants every key), Tab moves on
   * and Escape and Enter do nothing: in a window that is not a dialog, an edit's own Escape would
   * close the app window.
   */
  bool PreTranslate(const MSG& msg);
  /** The window whose keyboard navigation (Tab, Escape, Enter) applies to `msg`, or null. */
  HWND DialogFor(const MSG& msg) const;
  LRESULT Handle(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp);

 private:
  // The app window (ui.cc).
  void BuildMain();
  void LayoutMain();
  void Final(const Json& c);
  void MainClose();
  // The chat area of the app window (ui.cc).
  void AddChat(const Json& c);
  void SendChat(bool from_button);
  void ChatNodes(Json& nodes);
  /** Tab, Escape and Enter in the chat messages (see PreTranslate); true: handled. */
  bool ChatKey(const MSG& msg);
  // The consent dialog (consent_dialog.cc).
  void Ask(const Json& c);
  void Unask(const std::string& id);
  void Answer(const char* answer);
  void LayoutDialog();
  void UpdateTimeLeft();
  // File questions (file_dialog.cc).
  void AskFile(const Json& c);
  void UnaskFile(const std::string& id);
  void FileAnswer(FileDialog* f, const char* answer);
  void LayoutFile(FileDialog* f);
  FileDialog* FileFor(HWND hwnd) const;
  // The clipboard switch and the file transfers of the app window (transfers.cc).
  void BuildTools();
  void Transfers(const Json& c);
  void ClipboardSwitch(const Json& c);
  /** Places the switch and the transfers from `y` down (client pixels); returns the next y. */
  int LayoutTools(int y);
  /** main_controls_ in the order shown, which is also the Tab order. */
  void OrderMain();
  // The system clipboard (clipboard.cc).
  void WatchClipboard(bool on);
  void SetClipboard(const std::string& text);
  void ReadClipboard(bool copied);
  void ClipboardChanged();
  // The sharing bar (sharing_bar.cc).
  void Sharing(const Json& c);
  void HideBar();
  void LayoutBar();
  // Shared (ui.cc).
  void OnCommand(HWND window, int id);
  void ScheduleReport();
  void ReportGeometry();
  void EmitTree();
  int Dpi(HWND hwnd) const;
  int S(HWND hwnd, int px) const { return MulDiv(px, Dpi(hwnd), 96); }
  HFONT Font(HWND hwnd, int kind);
  SIZE TextSize(HWND hwnd, HWND control, int width);
  HWND AddLabel(HWND parent, std::vector<Control>& list, int font);
  HWND AddButton(HWND parent, std::vector<Control>& list, int id, bool enabled = true);
  void SetText(HWND control, const std::string& utf8, bool button = false);
  int ButtonWidth(HWND parent, HWND button);
  void Resize(HWND hwnd, int client_width, int client_height, bool centre);

  HINSTANCE instance_ = nullptr;
  bool trace_ = false;

  HWND main_ = nullptr;
  std::vector<Control> main_controls_;
  HWND heading_ = nullptr, status_ = nullptr, share_text_ = nullptr;
  HWND main_narrow_ = nullptr, main_stop_ = nullptr, quit_ = nullptr;
  bool sharing_ = false, can_narrow_ = false, final_ = false, shown_ = false;
  /** The chat area: shown once a "main" command names its button ("chatSend"). */
  bool chat_ = false;
  HWND chat_log_ = nullptr, chat_entry_ = nullptr, chat_send_ = nullptr;
  std::string chat_placeholder_;
  /** Each message as shown ("name: text") and where it starts in chat_log_'s text (UTF-16). */
  std::vector<std::string> chat_lines_;
  std::vector<int> chat_starts_;

  HWND dialog_ = nullptr;
  std::vector<Control> dialog_controls_;
  HWND ask_heading_ = nullptr, ask_body_ = nullptr, ask_code_ = nullptr, time_left_ = nullptr;
  HWND buttons_[3] = {nullptr, nullptr, nullptr};  // decline, view only, allow
  std::string ask_id_;
  std::string time_template_;
  ULONGLONG deadline_ms_ = 0;
  /** Keys (virtual-key codes) down when the dialog appeared: ignored until released. */
  bool held_[256] = {};

  /** The open file questions, oldest first. */
  std::vector<std::unique_ptr<FileDialog>> files_;

  HWND clip_check_ = nullptr;
  bool clip_visible_ = false;
  HWND transfers_heading_ = nullptr;
  std::vector<TransferRow> rows_;
  int next_cancel_id_ = 1000;

  /** watchClipboard on: WM_CLIPBOARDUPDATE arrives, and other programs' changes are reported. */
  bool watch_ = false;
  /** The clipboard's sequence number after our own set, and the last change reported or skipped. */
  DWORD own_seq_ = 0, seen_seq_ = 0;

  HWND bar_ = nullptr;
  std::vector<Control> bar_controls_;
  HWND bar_dot_ = nullptr, bar_text_ = nullptr, bar_recording_ = nullptr;
  HWND bar_narrow_ = nullptr, bar_stop_ = nullptr;
  int area_[4] = {0, 0, 0, 0};  // x, y, width, height in device pixels; width 0: primary monitor

  HBRUSH window_brush_ = nullptr, bar_brush_ = nullptr;
  struct FontSet {
    int dpi = 0;
    HFONT fonts[3] = {nullptr, nullptr, nullptr};  // text, heading, code
  };
  std::vector<FontSet> fonts_;
  bool report_pending_ = false;
  std::string last_geometry_;
};

/** Font kinds for Ui::Font. */
enum FontKind { kText = 0, kHeading = 1, kCode = 2 };

}  // namespace tether_window
