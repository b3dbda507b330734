// The app window (status, View only / Stop sharing while shared, the chat, Quit), the parts the
// three windows share (window classes, fonts, text measuring, layout helpers), and what the app is
// told about them: their places (for its input guard) and, for the tests, what they show.
// clang-format off
#include "ui.h"  // windows.h, which commctrl.h needs first
#include <commctrl.h>
// clang-format on

#include <algorithm>
#include <cstring>
#include <memory>

namespace tether_window {
namespace {

const wchar_t kMainClass[] = L"TetherSupportMain";
const wchar_t kDialogClass[] = L"TetherSupportDialog";
const wchar_t kBarClass[] = L"TetherSupportBar";

constexpr UINT_PTR kTreeTimer = 1;

enum ButtonId {
  kMainNarrow = 101,
  kMainStop = 102,
  kQuit = 103,
  kChatSend = 104,
};

LRESULT CALLBACK WindowProc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  if (msg == WM_NCCREATE) {
    auto* create = reinterpret_cast<CREATESTRUCTW*>(lp);
    SetWindowLongPtrW(hwnd, GWLP_USERDATA, reinterpret_cast<LONG_PTR>(create->lpCreateParams));
  }
  auto* ui = reinterpret_cast<Ui*>(GetWindowLongPtrW(hwnd, GWLP_USERDATA));
  return ui ? ui->Handle(hwnd, msg, wp, lp) : DefWindowProcW(hwnd, msg, wp, lp);
}

/** A Win32 function newer than Windows 7 (or missing in Wine), looked up at run time. */
template <typename Fn>
Fn User32(const char* name) {
  return reinterpret_cast<Fn>(
      reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"user32.dll"), name)));
}

}  // namespace

std::wstring Wide(const std::string& utf8) {
  if (utf8.empty()) return std::wstring();
  const int n =
      MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

std::string Utf8(const std::wstring& wide) {
  if (wide.empty()) return std::string();
  const int n = WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), nullptr,
                                    0, nullptr, nullptr);
  std::string out(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), out.data(), n,
                      nullptr, nullptr);
  return out;
}

bool Ui::Create(HINSTANCE instance) {
  instance_ = instance;
  char trace[4] = {};
  trace_ = GetEnvironmentVariableA("TETHER_TRACE_UI", trace, sizeof trace) == 1 && trace[0] == '1';
  // Per-monitor DPI awareness (also in the manifest): window rectangles are device pixels, the
  // same coordinates as the capturer's and the injector's.
  using SetContextFn = BOOL(WINAPI*)(HANDLE);
  if (auto set = User32<SetContextFn>("SetProcessDpiAwarenessContext"))
    set(reinterpret_cast<HANDLE>(static_cast<LONG_PTR>(-4)));  // PER_MONITOR_AWARE_V2
  window_brush_ = GetSysColorBrush(COLOR_WINDOW);
  bar_brush_ = CreateSolidBrush(RGB(0x30, 0x30, 0x30));
  for (const wchar_t* name : {kMainClass, kDialogClass, kBarClass}) {
    WNDCLASSEXW wc = {};
    wc.cbSize = sizeof wc;
    wc.lpfnWndProc = WindowProc;
    wc.hInstance = instance;
    wc.hCursor = LoadCursorW(nullptr, IDC_ARROW);
    wc.hbrBackground = name == kBarClass ? bar_brush_ : window_brush_;
    wc.hIcon = LoadIconW(nullptr, name == kDialogClass ? IDI_QUESTION : IDI_APPLICATION);
    wc.lpszClassName = name;
    if (!RegisterClassExW(&wc)) return false;
  }
  BuildMain();
  return main_ != nullptr;
}

void Ui::BuildMain() {
  main_ =
      CreateWindowExW(0, kMainClass, L"", WS_OVERLAPPED | WS_CAPTION | WS_SYSMENU | WS_MINIMIZEBOX,
                      CW_USEDEFAULT, CW_USEDEFAULT, 400, 200, nullptr, nullptr, instance_, this);
  if (!main_) return;
  heading_ = AddLabel(main_, main_controls_, kHeading);
  status_ = AddLabel(main_, main_controls_, kText);
  share_text_ = AddLabel(main_, main_controls_, kText);
  main_narrow_ = AddButton(main_, main_controls_, kMainNarrow);
  main_stop_ = AddButton(main_, main_controls_, kMainStop);
  // The chat area (hidden until "main" names its button), before Quit in the Tab order. The
  // messages are read-only and no Tab stop (as on Linux); the entry is.
  chat_log_ = CreateWindowExW(WS_EX_CLIENTEDGE, L"EDIT", L"",
                              WS_CHILD | WS_VSCROLL | ES_MULTILINE | ES_READONLY | ES_AUTOVSCROLL,
                              0, 0, 10, 10, main_, nullptr, instance_, nullptr);
  SendMessageW(chat_log_, EM_SETLIMITTEXT, 0, 0);  // no limit but memory's: a long conversation
  main_controls_.push_back({chat_log_, "chat"});
  chat_entry_ =
      CreateWindowExW(WS_EX_CLIENTEDGE, L"EDIT", L"", WS_CHILD | WS_TABSTOP | ES_AUTOHSCROLL, 0, 0,
                      10, 10, main_, nullptr, instance_, nullptr);
  SendMessageW(chat_entry_, EM_SETLIMITTEXT, kMaxChat, 0);
  main_controls_.push_back({chat_entry_, "text"});
  chat_send_ = AddButton(main_, main_controls_, kChatSend);
  ShowWindow(chat_send_, SW_HIDE);
  quit_ = AddButton(main_, main_controls_, kQuit);
  BuildTools();  // the clipboard switch and the file transfers (hidden until asked for)
  OrderMain();
}

HWND Ui::AddLabel(HWND parent, std::vector<Control>& list, int font) {
  HWND h = CreateWindowExW(0, L"STATIC", L"", WS_CHILD | WS_VISIBLE | SS_LEFT | SS_NOPREFIX, 0, 0,
                           10, 10, parent, nullptr, instance_, nullptr);
  SendMessageW(h, WM_SETFONT, reinterpret_cast<WPARAM>(Font(parent, font)), FALSE);
  SetPropW(h, L"TetherFont", reinterpret_cast<HANDLE>(static_cast<INT_PTR>(font + 1)));
  list.push_back({h, "label"});
  return h;
}

HWND Ui::AddButton(HWND parent, std::vector<Control>& list, int id, bool enabled) {
  HWND h = CreateWindowExW(
      0, L"BUTTON", L"",
      WS_CHILD | WS_VISIBLE | WS_TABSTOP | BS_PUSHBUTTON | (enabled ? 0 : WS_DISABLED), 0, 0, 10,
      10, parent, reinterpret_cast<HMENU>(static_cast<INT_PTR>(id)), instance_, nullptr);
  SendMessageW(h, WM_SETFONT, reinterpret_cast<WPARAM>(Font(parent, kText)), FALSE);
  SetPropW(h, L"TetherFont", reinterpret_cast<HANDLE>(static_cast<INT_PTR>(kText + 1)));
  list.push_back({h, "push button"});
  return h;
}

void Ui::SetText(HWND control, const std::string& utf8, bool button) {
  std::wstring text = Wide(utf8);
  if (button) {  // "&" would make the next letter a mnemonic: show it as it is
    std::wstring escaped;
    for (wchar_t ch : text) {
      escaped.push_back(ch);
      if (ch == L'&') escaped.push_back(L'&');
    }
    text = escaped;
  }
  SetWindowTextW(control, text.c_str());
}

int Ui::Dpi(HWND hwnd) const {
  using GetDpiFn = UINT(WINAPI*)(HWND);
  static const GetDpiFn get = User32<GetDpiFn>("GetDpiForWindow");
  UINT dpi = get && hwnd ? get(hwnd) : 0;
  if (dpi == 0) {
    HDC dc = GetDC(nullptr);
    dpi = static_cast<UINT>(GetDeviceCaps(dc, LOGPIXELSY));
    ReleaseDC(nullptr, dc);
  }
  return dpi ? static_cast<int>(dpi) : 96;
}

HFONT Ui::Font(HWND hwnd, int kind) {
  const int dpi = Dpi(hwnd);
  for (const FontSet& set : fonts_)
    if (set.dpi == dpi) return set.fonts[kind];
  // The system's message font (Segoe UI on Windows 10), at this window's DPI.
  NONCLIENTMETRICSW ncm = {};
  ncm.cbSize = sizeof ncm;
  SystemParametersInfoW(SPI_GETNONCLIENTMETRICS, sizeof ncm, &ncm, 0);
  HDC dc = GetDC(nullptr);
  const int system_dpi = GetDeviceCaps(dc, LOGPIXELSY);
  ReleaseDC(nullptr, dc);
  LOGFONTW text = ncm.lfMessageFont;
  text.lfHeight = MulDiv(text.lfHeight, dpi, system_dpi ? system_dpi : 96);
  LOGFONTW heading = text;
  heading.lfWeight = FW_BOLD;
  heading.lfHeight = MulDiv(text.lfHeight, 5, 4);
  LOGFONTW code = text;
  wcscpy(code.lfFaceName, L"Consolas");
  code.lfPitchAndFamily = FIXED_PITCH | FF_MODERN;
  code.lfHeight = MulDiv(text.lfHeight, 6, 5);
  FontSet set;
  set.dpi = dpi;
  set.fonts[kText] = CreateFontIndirectW(&text);
  set.fonts[kHeading] = CreateFontIndirectW(&heading);
  set.fonts[kCode] = CreateFontIndirectW(&code);
  fonts_.push_back(set);
  return set.fonts[kind];
}

SIZE Ui::TextSize(HWND hwnd, HWND control, int width) {
  const int kind =
      static_cast<int>(reinterpret_cast<INT_PTR>(GetPropW(control, L"TetherFont"))) - 1;
  HFONT font = Font(hwnd, kind < 0 ? kText : kind);
  SendMessageW(control, WM_SETFONT, reinterpret_cast<WPARAM>(font), FALSE);
  const int length = GetWindowTextLengthW(control);
  std::wstring text(static_cast<size_t>(length) + 1, L'\0');
  GetWindowTextW(control, text.data(), length + 1);
  text.resize(static_cast<size_t>(length));
  HDC dc = GetDC(hwnd);
  HGDIOBJ old = SelectObject(dc, font);
  RECT r = {0, 0, width > 0 ? width : 100000, 0};
  UINT flags = DT_CALCRECT | DT_NOPREFIX | (width > 0 ? DT_WORDBREAK : DT_SINGLELINE);
  DrawTextW(dc, text.empty() ? L" " : text.c_str(), -1, &r, flags);
  SelectObject(dc, old);
  ReleaseDC(hwnd, dc);
  return SIZE{text.empty() ? 0 : r.right, r.bottom};
}

int Ui::ButtonWidth(HWND parent, HWND button) {
  return std::max(S(parent, 88), static_cast<int>(TextSize(parent, button, 0).cx) + S(parent, 32));
}

void Ui::Resize(HWND hwnd, int client_width, int client_height, bool centre) {
  RECT r = {0, 0, client_width, client_height};
  const DWORD style = static_cast<DWORD>(GetWindowLongPtrW(hwnd, GWL_STYLE));
  const DWORD ex = static_cast<DWORD>(GetWindowLongPtrW(hwnd, GWL_EXSTYLE));
  using AdjustFn = BOOL(WINAPI*)(RECT*, DWORD, BOOL, DWORD, UINT);
  static const AdjustFn adjust = User32<AdjustFn>("AdjustWindowRectExForDpi");
  if (!adjust || !adjust(&r, style, FALSE, ex, static_cast<UINT>(Dpi(hwnd))))
    AdjustWindowRectEx(&r, style, FALSE, ex);
  const int w = r.right - r.left, h = r.bottom - r.top;
  if (centre) {
    MONITORINFO mi = {sizeof mi};
    GetMonitorInfoW(MonitorFromPoint(POINT{0, 0}, MONITOR_DEFAULTTOPRIMARY), &mi);
    const RECT& a = mi.rcWork;
    SetWindowPos(hwnd, nullptr, a.left + std::max(0L, (a.right - a.left - w) / 2),
                 a.top + std::max(0L, (a.bottom - a.top - h) / 2), w, h,
                 SWP_NOZORDER | SWP_NOACTIVATE);
  } else {
    SetWindowPos(hwnd, nullptr, 0, 0, w, h, SWP_NOZORDER | SWP_NOACTIVATE | SWP_NOMOVE);
  }
}

void Ui::LayoutMain() {
  HWND w = main_;
  const int pad = S(w, 18), width = S(w, 420), gap = S(w, 12), bh = S(w, 28);
  int y = pad;
  auto place = [&](HWND c, int space_after) {
    const SIZE s = TextSize(w, c, width);
    MoveWindow(c, pad, y, width, s.cy, TRUE);
    y += s.cy + space_after;
  };
  place(heading_, gap);
  place(status_, gap);
  ShowWindow(share_text_, sharing_ ? SW_SHOW : SW_HIDE);
  ShowWindow(main_narrow_, sharing_ && can_narrow_ ? SW_SHOW : SW_HIDE);
  ShowWindow(main_stop_, sharing_ ? SW_SHOW : SW_HIDE);
  if (sharing_) {
    place(share_text_, S(w, 8));
    int x = pad;
    if (can_narrow_) {
      const int bw = ButtonWidth(w, main_narrow_);
      MoveWindow(main_narrow_, x, y, bw, bh, TRUE);
      x += bw + S(w, 6);
    }
    MoveWindow(main_stop_, x, y, ButtonWidth(w, main_stop_), bh, TRUE);
    y += bh + gap;
  }
  y = LayoutTools(y);
  for (HWND c : {chat_log_, chat_entry_, chat_send_}) ShowWindow(c, chat_ ? SW_SHOW : SW_HIDE);
  if (chat_) {
    for (HWND c : {chat_log_, chat_entry_}) {
      SendMessageW(c, WM_SETFONT, reinterpret_cast<WPARAM>(Font(w, kText)), TRUE);
      SendMessageW(c, EM_SETMARGINS, EC_LEFTMARGIN | EC_RIGHTMARGIN, MAKELPARAM(S(w, 4), S(w, 4)));
    }
    const int log_height = S(w, 120), sw = ButtonWidth(w, chat_send_);
    MoveWindow(chat_log_, pad, y, width, log_height, TRUE);
    y += log_height + S(w, 6);
    MoveWindow(chat_entry_, pad, y, width - sw - S(w, 6), bh, TRUE);
    MoveWindow(chat_send_, pad + width - sw, y, sw, bh, TRUE);
    y += bh + gap;
    SendMessageW(chat_log_, WM_VSCROLL, SB_BOTTOM, 0);  // its new size: the newest still in view
  }
  const int qw = ButtonWidth(w, quit_);
  MoveWindow(quit_, pad + width - qw, y, qw, bh, TRUE);
  y += bh + pad;
  Resize(w, width + 2 * pad, y, !shown_);
}

void Ui::Apply(const Json& c) {
  const std::string cmd = Str(c, "cmd");
  if (cmd == "main") {
    SetWindowTextW(main_, Wide(Str(c, "title")).c_str());
    SetText(heading_, Str(c, "heading"));
    SetText(status_, Str(c, "status"));
    SetText(quit_, Str(c, "quit"), true);
    SetText(main_narrow_, Str(c, "viewOnly"), true);
    SetText(main_stop_, Str(c, "stop"), true);
    const std::string send = Str(c, "chatSend");
    if (!send.empty() && !final_) {
      chat_ = true;
      SetText(chat_send_, send, true);
      chat_placeholder_ = Str(c, "chatPlaceholder");
      // The cue banner (comctl32 v6, which the manifest asks for), shown while the entry is empty,
      // with the keyboard or not.
      SendMessageW(chat_entry_, EM_SETCUEBANNER, TRUE,
                   reinterpret_cast<LPARAM>(Wide(chat_placeholder_).c_str()));
    }
    LayoutMain();
    if (!shown_) {
      shown_ = true;
      ShowWindow(main_, SW_SHOWNORMAL);
      // No button has the keyboard at first (Tab reaches them): a stray Enter typed while the
      // window appears quits nothing.
      SetFocus(main_);
    }
  } else if (cmd == "chat") {
    if (!final_) AddChat(c);
  } else if (cmd == "status") {
    if (!final_) {
      SetText(status_, Str(c, "text"));
      LayoutMain();
    }
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
  } else if (cmd == "watchClipboard") {
    WatchClipboard(Flag(c, "on"));
  } else if (cmd == "setClipboard") {
    SetClipboard(Str(c, "text"));
  } else if (cmd == "readClipboard") {
    ReadClipboard(false);
  }
  ScheduleReport();
}

// --- the final message ----------------------------------------------------------------------

void Ui::Final(const Json& c) {
  Unask(ask_id_);
  while (!files_.empty()) UnaskFile(files_.front()->id);  // nobody sends any more
  Transfers(Json{{"rows", Json::array()}});
  final_ = true;  // after the rows went: Transfers ignores everything once final
  clip_visible_ = false;
  HideBar();
  sharing_ = false;
  chat_ = false;  // the session is over: nobody reads it any more
  SetText(status_, Str(c, "text"));
  SetText(quit_, Str(c, "close"), true);
  LayoutMain();
  shown_ = true;
  ShowWindow(main_, SW_SHOWNORMAL);
  SetForegroundWindow(main_);
  SetFocus(quit_);
}

void Ui::MainClose() {
  if (final_) {
    ShowWindow(main_, SW_HIDE);
    Emit(Json{{"ev", "closed"}});
  } else {
    Emit(Json{{"ev", "quit"}});  // the app decides; its windows go when it ends
  }
}

// --- the chat --------------------------------------------------------------------------------

void Ui::AddChat(const Json& c) {
  const std::string line = Str(c, "name") + ": " + Str(c, "text");
  // A multi-line EDIT breaks lines at "\r\n": a message's own line breaks become those.
  std::wstring shown;
  for (wchar_t ch : Wide(line)) {
    if (ch == L'\r') continue;
    if (ch == L'\n') shown.push_back(L'\r');
    shown.push_back(ch);
  }
  int length = GetWindowTextLengthW(chat_log_);
  if (length > 0) {
    shown.insert(0, L"\r\n");
    length += 2;
  }
  // Appended at the end without losing what the user selected (to copy it), then scrolled to.
  DWORD from = 0, to = 0;
  SendMessageW(chat_log_, EM_GETSEL, reinterpret_cast<WPARAM>(&from),
               reinterpret_cast<LPARAM>(&to));
  const int end = GetWindowTextLengthW(chat_log_);
  SendMessageW(chat_log_, EM_SETSEL, end, end);
  SendMessageW(chat_log_, EM_REPLACESEL, FALSE, reinterpret_cast<LPARAM>(shown.c_str()));
  SendMessageW(chat_log_, EM_SETSEL, from, to);
  SendMessageW(chat_log_, WM_VSCROLL, SB_BOTTOM, 0);
  chat_lines_.push_back(line);
  chat_starts_.push_back(length);
}

void Ui::SendChat(bool from_button) {
  const int length = GetWindowTextLengthW(chat_entry_);
  std::wstring text(static_cast<size_t>(length) + 1, L'\0');
  GetWindowTextW(chat_entry_, text.data(), length + 1);
  text.resize(static_cast<size_t>(length));
  const size_t first = text.find_first_not_of(L" \t\r\n");
  if (first == std::wstring::npos) return;  // nothing to send
  text = text.substr(first, text.find_last_not_of(L" \t\r\n") - first + 1);
  SetWindowTextW(chat_entry_, L"");
  Emit(Json{{"ev", "chat"}, {"text", Utf8(text)}});
  if (from_button) SetFocus(chat_entry_);  // the user is writing: the next line goes there too
}

void Ui::ChatNodes(Json& nodes) {
  // Each message as a label; its rectangle (the part of the messages' box it fills) only while
  // some of it is in view.
  RECT client;
  GetClientRect(chat_log_, &client);
  const int total = GetWindowTextLengthW(chat_log_);
  auto top_of = [&](int index) {
    const LRESULT pos = SendMessageW(chat_log_, EM_POSFROMCHAR, static_cast<WPARAM>(index), 0);
    return static_cast<int>(static_cast<short>(HIWORD(pos)));
  };
  TEXTMETRICW tm = {};
  HDC dc = GetDC(chat_log_);
  HGDIOBJ old =
      SelectObject(dc, reinterpret_cast<HFONT>(SendMessageW(chat_log_, WM_GETFONT, 0, 0)));
  GetTextMetricsW(dc, &tm);
  SelectObject(dc, old);
  ReleaseDC(chat_log_, dc);
  for (size_t i = 0; i < chat_lines_.size(); i++) {
    Json node = {{"role", "label"}, {"name", chat_lines_[i]}};
    const int top = top_of(chat_starts_[i]);
    const int bottom = i + 1 < chat_starts_.size() ? top_of(chat_starts_[i + 1])
                                                   : top_of(std::max(0, total - 1)) + tm.tmHeight;
    const int y0 = std::max(top, static_cast<int>(client.top));
    const int y1 = std::min(bottom, static_cast<int>(client.bottom));
    if (y1 > y0) {
      POINT origin = {0, y0};
      ClientToScreen(chat_log_, &origin);
      node["rect"] = {origin.x, origin.y, client.right - client.left, y1 - y0};
    }
    nodes.push_back(node);
  }
}

bool Ui::ChatKey(const MSG& msg) {
  if (!chat_log_ || msg.hwnd != chat_log_) return false;
  if (msg.message != WM_KEYDOWN && msg.message != WM_CHAR) return false;
  if (msg.wParam != VK_TAB && msg.wParam != VK_ESCAPE && msg.wParam != VK_RETURN) return false;
  if (msg.message == WM_KEYDOWN && msg.wParam == VK_TAB) {
    const bool back = (GetKeyState(VK_SHIFT) & 0x8000) != 0;
    if (HWND next = GetNextDlgTabItem(main_, chat_log_, back)) SetFocus(next);
  }
  return true;
}

// --- messages -------------------------------------------------------------------------------

HWND Ui::DialogFor(const MSG& msg) const {
  if (!msg.hwnd) return nullptr;
  HWND root = GetAncestor(msg.hwnd, GA_ROOT);
  return root == main_ || root == dialog_ || FileFor(root) ? root : nullptr;
}

void Ui::OnCommand(HWND window, int id) {
  if (id == IDOK) {
    // Enter: presses the button that has the keyboard, if any (there is no default button).
    HWND focus = GetFocus();
    if (focus && focus == chat_entry_) return SendChat(false);
    if (focus && GetParent(focus) == window && IsWindowEnabled(focus) &&
        (GetWindowLongPtrW(focus, GWL_STYLE) & BS_TYPEMASK) == BS_PUSHBUTTON)
      OnCommand(window, GetDlgCtrlID(focus));
    return;
  }
  if (FileDialog* f = FileFor(window)) {
    if (id == IDCANCEL || id == GetDlgCtrlID(f->decline)) return FileAnswer(f, "decline");
    if (id == GetDlgCtrlID(f->accept) && IsWindowEnabled(f->accept)) return FileAnswer(f, "accept");
    return;
  }
  if (window == main_ && id == GetDlgCtrlID(clip_check_)) {
    const bool on = SendMessageW(clip_check_, BM_GETCHECK, 0, 0) == BST_CHECKED;
    ScheduleReport();  // the trace shows the new state
    return Emit(Json{{"ev", "clipboardSwitch"}, {"on", on}});
  }
  for (const TransferRow& row : rows_)
    if (window == main_ && id == GetDlgCtrlID(row.cancel))
      return Emit(Json{{"ev", "cancelTransfer"}, {"id", row.id}});
  if (window == dialog_) {
    if (id == IDCANCEL) return Answer("decline");  // Escape
    for (int i = 0; i < 3; i++)
      if (buttons_[i] && GetDlgCtrlID(buttons_[i]) == id && IsWindowEnabled(buttons_[i]))
        return Answer(i == 0 ? "decline" : i == 1 ? "view" : "allow");
    return;
  }
  switch (id) {
    case kMainNarrow:
      return Emit(Json{{"ev", "narrow"}});
    case kMainStop:
      return Emit(Json{{"ev", "stop"}});
    case kQuit:
      return MainClose();
    case kChatSend:
      return SendChat(true);
    default:
      if (window == bar_ && bar_narrow_ && id == GetDlgCtrlID(bar_narrow_))
        return Emit(Json{{"ev", "narrow"}});
      if (window == bar_ && bar_stop_ && id == GetDlgCtrlID(bar_stop_))
        return Emit(Json{{"ev", "stop"}});
  }
}

LRESULT Ui::Handle(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  switch (msg) {
    case kLineMessage: {
      auto* line = reinterpret_cast<std::string*>(lp);
      const Json command = Json::parse(*line, nullptr, false);
      delete line;
      if (!command.is_object()) {
        DWORD written = 0;
        static const char kWhy[] = "tether-window: ignored a line that is not a JSON object\n";
        WriteFile(GetStdHandle(STD_ERROR_HANDLE), kWhy, sizeof kWhy - 1, &written, nullptr);
      } else if (Str(command, "cmd") == "exit") {
        PostQuitMessage(0);
      } else {
        Apply(command);
      }
      return 0;
    }
    case kEndMessage:
      PostQuitMessage(0);  // the app is gone: so are its windows
      return 0;
    case kReportMessage:
      report_pending_ = false;
      ReportGeometry();
      return 0;
    case WM_COMMAND:
      if (HIWORD(wp) == EN_SETFOCUS || HIWORD(wp) == EN_KILLFOCUS) {
        ScheduleReport();  // the trace says which control has the keyboard
      } else if (HIWORD(wp) == BN_CLICKED || lp == 0) {
        OnCommand(hwnd, LOWORD(wp));
      }
      return 0;
    case WM_CLOSE:
      if (hwnd == main_) MainClose();
      if (hwnd == dialog_) Answer("decline");
      if (FileDialog* f = FileFor(hwnd)) FileAnswer(f, "decline");
      return 0;  // the bar has no close box; nothing closes by itself
    case WM_CTLCOLORSTATIC: {
      HDC dc = reinterpret_cast<HDC>(wp);
      HWND control = reinterpret_cast<HWND>(lp);
      if (control ==
          chat_log_) {  // a read-only edit asks as a label does: drawn opaque (it scrolls)
        SetBkColor(dc, GetSysColor(COLOR_WINDOW));
        SetTextColor(dc, GetSysColor(COLOR_WINDOWTEXT));
        return reinterpret_cast<LRESULT>(window_brush_);
      }
      SetBkMode(dc, TRANSPARENT);
      if (hwnd == bar_) {
        SetTextColor(dc, control == bar_dot_ ? RGB(0xe0, 0x1b, 0x24) : RGB(0xff, 0xff, 0xff));
        return reinterpret_cast<LRESULT>(bar_brush_);
      }
      SetTextColor(
          dc, control == time_left_ ? GetSysColor(COLOR_GRAYTEXT) : GetSysColor(COLOR_WINDOWTEXT));
      return reinterpret_cast<LRESULT>(window_brush_);
    }
    case WM_PAINT:
      if (hwnd == dialog_ || FileFor(hwnd)) {
        PAINTSTRUCT ps;
        HDC dc = BeginPaint(hwnd, &ps);
        const int size = S(hwnd, 32);
        DrawIconEx(dc, S(hwnd, 18), S(hwnd, 18), LoadIconW(nullptr, IDI_QUESTION), size, size, 0,
                   nullptr, DI_NORMAL);
        EndPaint(hwnd, &ps);
        return 0;
      }
      if (hwnd == bar_) {
        PAINTSTRUCT ps;
        HDC dc = BeginPaint(hwnd, &ps);
        RECT r;
        GetClientRect(hwnd, &r);
        HBRUSH border = CreateSolidBrush(RGB(0x1a, 0x1a, 0x1a));
        FrameRect(dc, &r, border);
        DeleteObject(border);
        EndPaint(hwnd, &ps);
        return 0;
      }
      break;
    case WM_TIMER:
      if (hwnd == main_ && wp == kTreeTimer) {
        KillTimer(main_, kTreeTimer);
        EmitTree();
        return 0;
      }
      if (FileDialog* f = FileFor(hwnd)) {  // armed
        KillTimer(hwnd, wp);
        EnableWindow(f->accept, TRUE);
        ScheduleReport();
        return 0;
      }
      if (hwnd == dialog_) {
        if (wp == 1) UpdateTimeLeft();
        if (wp == 2) {  // armed
          KillTimer(dialog_, 2);
          for (int i = 1; i < 3; i++)
            if (buttons_[i]) EnableWindow(buttons_[i], TRUE);
          ScheduleReport();
        }
        return 0;
      }
      if (hwnd == bar_ && IsWindowVisible(bar_)) {
        SetWindowPos(bar_, HWND_TOPMOST, 0, 0, 0, 0,
                     SWP_NOMOVE | SWP_NOSIZE | SWP_NOACTIVATE | SWP_NOOWNERZORDER);
        return 0;
      }
      break;
    case WM_DPICHANGED: {
      const RECT* suggested = reinterpret_cast<const RECT*>(lp);
      SetWindowPos(hwnd, nullptr, suggested->left, suggested->top,
                   suggested->right - suggested->left, suggested->bottom - suggested->top,
                   SWP_NOZORDER | SWP_NOACTIVATE);
      if (hwnd == main_) LayoutMain();
      if (hwnd == dialog_) LayoutDialog();
      if (hwnd == bar_) LayoutBar();
      if (FileDialog* f = FileFor(hwnd)) LayoutFile(f);
      return 0;
    }
    case WM_CLIPBOARDUPDATE:
      if (hwnd == main_) ClipboardChanged();
      return 0;
    case WM_WINDOWPOSCHANGED:
    case WM_ACTIVATE:
    case WM_SHOWWINDOW:
      ScheduleReport();
      break;
    case WM_MOUSEACTIVATE:
      if (hwnd == bar_) return MA_NOACTIVATE;  // the bar never takes the keyboard
      break;
    default:
      break;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}

// --- where the windows are, for the app's input guard; the test trace ------------------------

void Ui::ScheduleReport() {
  if (!report_pending_ && main_) report_pending_ = PostMessageW(main_, kReportMessage, 0, 0);
  if (trace_ && main_) SetTimer(main_, kTreeTimer, 50, nullptr);
}

void Ui::ReportGeometry() {
  // The app window, the consent dialog, the bar, then the file questions (oldest first).
  std::vector<HWND> windows = {main_, dialog_, bar_};
  for (const auto& f : files_) windows.push_back(f->hwnd);
  auto rects = std::make_unique<int[][4]>(windows.size());
  int count = 0;
  for (HWND w : windows) {
    if (!w || !IsWindowVisible(w) || IsIconic(w)) continue;
    RECT r;
    GetWindowRect(w, &r);
    const int rect[4] = {r.left, r.top, r.right - r.left, r.bottom - r.top};
    std::copy(rect, rect + 4, rects[count++]);
  }
  HWND active = GetForegroundWindow();
  const bool focused = active && (active == main_ || active == dialog_ || FileFor(active));
  const std::string line = EventLine(GeometryEvent(rects.get(), count, focused));
  if (line == last_geometry_) return;
  last_geometry_ = line;
  Emit(Json::parse(line));
}

void Ui::EmitTree() {
  Json windows = Json::array();
  struct Shown {
    const char* kind;
    HWND hwnd;
    const std::vector<Control>* controls;
    const std::string* id;  // a file question's
  };
  std::vector<Shown> all = {{"main", main_, &main_controls_, nullptr},
                            {"dialog", dialog_, &dialog_controls_, nullptr},
                            {"bar", bar_, &bar_controls_, nullptr}};
  for (const auto& f : files_) all.push_back({"file", f->hwnd, &f->controls, &f->id});
  HWND focus = GetFocus();
  for (const auto& w : all) {
    if (!w.hwnd || !IsWindowVisible(w.hwnd)) continue;
    Json nodes = Json::array();
    for (const Control& c : *w.controls) {
      if (!IsWindowVisible(c.hwnd)) continue;
      if (c.hwnd == chat_log_) {
        ChatNodes(nodes);
        continue;
      }
      const int length = GetWindowTextLengthW(c.hwnd);
      std::wstring text(static_cast<size_t>(length) + 1, L'\0');
      GetWindowTextW(c.hwnd, text.data(), length + 1);
      text.resize(static_cast<size_t>(length));
      const bool button = strcmp(c.role, "push button") == 0 || strcmp(c.role, "check box") == 0;
      if (button) {  // the label as shown: "&&" is one "&"
        std::wstring shown;
        for (size_t i = 0; i < text.size(); i++) {
          if (text[i] == L'&' && i + 1 < text.size()) i++;
          shown.push_back(text[i]);
        }
        text = shown;
      }
      if (c.hwnd == chat_entry_) text = Wide(chat_placeholder_);  // named as a screen reader would
      if (text.empty()) continue;
      RECT r;
      GetWindowRect(c.hwnd, &r);
      Json node = {{"role", c.role},
                   {"name", Utf8(text)},
                   {"rect", {r.left, r.top, r.right - r.left, r.bottom - r.top}}};
      if (!IsWindowEnabled(c.hwnd)) node["insensitive"] = true;
      if (focus == c.hwnd) node["focused"] = true;
      if (c.hwnd == clip_check_)
        node["checked"] = SendMessageW(c.hwnd, BM_GETCHECK, 0, 0) == BST_CHECKED;
      if (strcmp(c.role, "progress bar") == 0) {
        const auto range = static_cast<double>(SendMessageW(c.hwnd, PBM_GETRANGE, FALSE, 0));
        const auto pos = static_cast<double>(SendMessageW(c.hwnd, PBM_GETPOS, 0, 0));
        node["fraction"] = range > 0 ? pos / range : 0.0;
      }
      nodes.push_back(node);
    }
    const int length = GetWindowTextLengthW(w.hwnd);
    std::wstring title(static_cast<size_t>(length) + 1, L'\0');
    GetWindowTextW(w.hwnd, title.data(), length + 1);
    title.resize(static_cast<size_t>(length));
    Json shown = {{"kind", w.kind}, {"title", Utf8(title)}, {"nodes", nodes}};
    if (w.id) shown["id"] = *w.id;
    windows.push_back(shown);
  }
  Emit(Json{{"ev", "tree"}, {"windows", windows}});
}

}  // namespace tether_window
