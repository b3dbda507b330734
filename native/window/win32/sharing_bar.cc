// The sharing bar: while anything is shared, at the top centre of the shared screen, above every
// other window (topmost, and put back on top every kRaiseEveryMs), naming who views or controls,
// with View only and Stop sharing. It never takes the keyboard (WS_EX_NOACTIVATE).
#include <algorithm>

#include "ui.h"

namespace tether_window {
namespace {

enum ButtonId { kBarNarrow = 301, kBarStop = 302 };

}  // namespace

void Ui::Sharing(const Json& c) {
  const std::string text = Str(c, "text");
  can_narrow_ = c.value("canNarrow", false);
  if (text.empty()) {
    HideBar();
    sharing_ = false;
    LayoutMain();
    return;
  }
  Area(c, area_);
  sharing_ = true;
  SetText(share_text_, text);
  LayoutMain();

  if (!bar_) {
    bar_ = CreateWindowExW(WS_EX_TOPMOST | WS_EX_TOOLWINDOW | WS_EX_NOACTIVATE, L"TetherSupportBar",
                           L"", WS_POPUP, 0, 0, 100, 30, nullptr, nullptr, instance_, this);
    if (!bar_) return;
    bar_controls_.clear();
    bar_dot_ = AddLabel(bar_, bar_controls_, kText);
    SetText(bar_dot_, "\u25CF");
    bar_text_ = AddLabel(bar_, bar_controls_, kText);
    bar_recording_ = AddLabel(bar_, bar_controls_, kText);
    bar_narrow_ = AddButton(bar_, bar_controls_, kBarNarrow);
    bar_stop_ = AddButton(bar_, bar_controls_, kBarStop);
    SetTimer(bar_, 1, kRaiseEveryMs, nullptr);
  }
  SetWindowTextW(bar_, Wide(Str(c, "title")).c_str());
  SetText(bar_text_, text);
  SetText(bar_recording_, Str(c, "recording"));
  SetText(bar_narrow_, Str(c, "viewOnly"), true);
  SetText(bar_stop_, Str(c, "stop"), true);
  LayoutBar();
  ShowWindow(bar_, SW_SHOWNOACTIVATE);
  SetWindowPos(bar_, HWND_TOPMOST, 0, 0, 0, 0, SWP_NOMOVE | SWP_NOSIZE | SWP_NOACTIVATE);
}

void Ui::LayoutBar() {
  HWND w = bar_;
  const int pad = S(w, 10), gap = S(w, 10), bh = S(w, 26);
  const bool recording = GetWindowTextLengthW(bar_recording_) > 0;
  const SIZE dot = TextSize(w, bar_dot_, 0), text = TextSize(w, bar_text_, 0),
             rec = TextSize(w, bar_recording_, 0);
  const int height = std::max<int>({bh, text.cy, dot.cy}) + 2 * S(w, 6);
  int x = pad;
  auto centred = [&](HWND c, SIZE s, int width) {
    MoveWindow(c, x, (height - s.cy) / 2, width, s.cy, TRUE);
    x += width + gap;
  };
  centred(bar_dot_, dot, dot.cx);
  centred(bar_text_, text, text.cx);
  ShowWindow(bar_recording_, recording ? SW_SHOW : SW_HIDE);
  if (recording) centred(bar_recording_, rec, rec.cx);
  ShowWindow(bar_narrow_, can_narrow_ ? SW_SHOW : SW_HIDE);
  if (can_narrow_) centred(bar_narrow_, SIZE{0, bh}, ButtonWidth(w, bar_narrow_));
  centred(bar_stop_, SIZE{0, bh}, ButtonWidth(w, bar_stop_));
  const int width = x - gap + pad;

  RECT screen;
  if (area_[2] > 0 && area_[3] > 0) {
    screen = {area_[0], area_[1], area_[0] + area_[2], area_[1] + area_[3]};
  } else {
    MONITORINFO mi = {sizeof mi};
    GetMonitorInfoW(MonitorFromPoint(POINT{0, 0}, MONITOR_DEFAULTTOPRIMARY), &mi);
    screen = mi.rcMonitor;
  }
  const int left =
      screen.left + std::max(0, static_cast<int>(screen.right - screen.left - width) / 2);
  SetWindowPos(bar_, HWND_TOPMOST, left, screen.top, width, height, SWP_NOACTIVATE);
}

void Ui::HideBar() {
  if (!bar_) return;
  HWND gone = bar_;
  bar_ = nullptr;
  DestroyWindow(gone);
  bar_controls_.clear();
  bar_dot_ = bar_text_ = bar_recording_ = bar_narrow_ = bar_stop_ = nullptr;
  ScheduleReport();
}

}  // namespace tether_window
