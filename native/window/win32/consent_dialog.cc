// The consent dialog: who asks, for what, the safety code, the time left, and Decline (with the
// keyboard) / View only / Allow. Nothing answers by accident: the granting buttons are armed only
// kArmDelayMs after the dialog appears, a key held down when it appeared answers nothing until it
// is released, Escape and the close box decline, and there is no default button.
#include <algorithm>

#include "ui.h"

namespace tether_window {
namespace {

constexpr UINT_PTR kTickTimer = 1;
constexpr UINT_PTR kArmTimer = 2;

enum ButtonId { kDecline = 201, kViewOnly = 202, kAllow = 203 };

}  // namespace

void Ui::Ask(const Json& c) {
  Unask(ask_id_);
  ask_id_ = Str(c, "id");
  // Owned by the app window (it goes with it, and stays above it), above other windows too.
  dialog_ =
      CreateWindowExW(WS_EX_TOPMOST | WS_EX_DLGMODALFRAME, L"TetherSupportDialog",
                      Wide(Str(c, "title")).c_str(), WS_POPUP | WS_CAPTION | WS_SYSMENU,
                      CW_USEDEFAULT, CW_USEDEFAULT, 400, 200, main_, nullptr, instance_, this);
  if (!dialog_) {
    Answer("decline");  // nobody could answer it
    return;
  }
  dialog_controls_.clear();
  ask_heading_ = AddLabel(dialog_, dialog_controls_, kHeading);
  SetText(ask_heading_, Str(c, "heading"));
  ask_body_ = AddLabel(dialog_, dialog_controls_, kText);
  SetText(ask_body_, Str(c, "body"));
  const std::string code = Str(c, "code");
  ask_code_ = code.empty() ? nullptr : AddLabel(dialog_, dialog_controls_, kCode);
  if (ask_code_) SetText(ask_code_, code);
  time_template_ = Str(c, "timeLeft");
  time_left_ = AddLabel(dialog_, dialog_controls_, kText);
  deadline_ms_ = GetTickCount64() + static_cast<ULONGLONG>(ExpiresInMs(c));
  UpdateTimeLeft();

  const std::string labels[3] = {Str(c, "decline"), Str(c, "viewOnly"), Str(c, "allow")};
  const int ids[3] = {kDecline, kViewOnly, kAllow};
  for (int i = 0; i < 3; i++) {
    buttons_[i] = nullptr;
    if (labels[i].empty()) continue;  // "View only" only when control is asked
    buttons_[i] = AddButton(dialog_, dialog_controls_, ids[i], i == 0);  // armed later: i > 0
    SetText(buttons_[i], labels[i], true);
  }
  LayoutDialog();

  // Keys held while the dialog appears are read now, before it can take any: see PreTranslate.
  for (int vk = 0; vk < 256; vk++) {
    const bool mouse = vk == VK_LBUTTON || vk == VK_RBUTTON || vk == VK_MBUTTON ||
                       vk == VK_XBUTTON1 || vk == VK_XBUTTON2;
    held_[vk] = !mouse && vk > 0 && (GetAsyncKeyState(vk) & 0x8000) != 0;
  }
  ShowWindow(dialog_, SW_SHOWNORMAL);
  SetForegroundWindow(dialog_);
  if (GetForegroundWindow() != dialog_) {  // Windows may refuse: then it flashes in the taskbar
    FLASHWINFO flash = {sizeof flash, dialog_, FLASHW_ALL | FLASHW_TIMERNOFG, 0, 0};
    FlashWindowEx(&flash);
  }
  SetFocus(buttons_[0]);
  SetTimer(dialog_, kTickTimer, 250, nullptr);
  SetTimer(dialog_, kArmTimer, kArmDelayMs, nullptr);
}

void Ui::LayoutDialog() {
  HWND w = dialog_;
  const int pad = S(w, 18), icon = S(w, 32), width = S(w, 400), bh = S(w, 28);
  const int x = pad + icon + S(w, 16);
  int y = pad;
  for (HWND c : {ask_heading_, ask_body_, ask_code_, time_left_}) {
    if (!c) continue;
    const SIZE s = TextSize(w, c, width);
    MoveWindow(c, x, y, width, s.cy, TRUE);
    y += s.cy + S(w, 10);
  }
  y += S(w, 8);
  int right = x + width;
  for (int i = 2; i >= 0; i--) {  // right-aligned: Decline, View only, Allow
    if (!buttons_[i]) continue;
    const int bw = ButtonWidth(w, buttons_[i]);
    MoveWindow(buttons_[i], right - bw, y, bw, bh, TRUE);
    right -= bw + S(w, 6);
  }
  y += bh + pad;
  Resize(w, x + width + pad, y, true);
}

void Ui::Unask(const std::string& id) {
  if (!dialog_ || id != ask_id_) return;
  HWND gone = dialog_;
  dialog_ = nullptr;  // first: messages sent while it is destroyed find no dialog
  DestroyWindow(gone);
  dialog_controls_.clear();
  ask_heading_ = ask_body_ = ask_code_ = time_left_ = nullptr;
  std::fill(std::begin(buttons_), std::end(buttons_), nullptr);
  std::fill(std::begin(held_), std::end(held_), false);
  ask_id_.clear();
  ScheduleReport();
}

void Ui::Answer(const char* answer) {
  if (!dialog_) return;
  Emit(AnswerEvent(ask_id_, answer));
  Unask(ask_id_);
}

void Ui::UpdateTimeLeft() {
  if (!time_left_) return;
  const LONGLONG left =
      static_cast<LONGLONG>(deadline_ms_) - static_cast<LONGLONG>(GetTickCount64());
  SetText(time_left_, TimeLeftText(time_template_, left));
}

bool Ui::PreTranslate(const MSG& msg) {
  if (ChatKey(msg)) return true;
  if (msg.wParam >= 256) return false;
  const bool down = msg.message == WM_KEYDOWN || msg.message == WM_SYSKEYDOWN;
  const bool up = msg.message == WM_KEYUP || msg.message == WM_SYSKEYUP;
  if (!down && !up) return false;
  if (!msg.hwnd) return false;
  // The consent dialog's and each file question's keys held when it appeared.
  HWND root = GetAncestor(msg.hwnd, GA_ROOT);
  FileDialog* file = FileFor(root);
  if (!file && (!dialog_ || root != dialog_)) return false;
  bool& held = file ? file->held[msg.wParam] : held_[msg.wParam];
  if (!held) return false;
  if (up) held = false;  // released: the next press counts
  return true;           // a key that was down when the dialog appeared (or its auto-repeat)
}

}  // namespace tether_window
