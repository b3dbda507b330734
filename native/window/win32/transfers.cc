// The app window's parts for issue 21: the clipboard switch (a check box: share the clipboard with
// the technician) and the file transfers section (a heading, then one row per transfer: its line
// of text, a progress bar and, while it can be cancelled, Cancel).
// clang-format off
#include "ui.h"  // windows.h, which commctrl.h needs first
#include <commctrl.h>
// clang-format on

#include <algorithm>

namespace tether_window {
namespace {

constexpr int kClipSwitch = 105;
constexpr int kBarRange = 1000;  // the progress bars' steps

}  // namespace

void Ui::BuildTools() {
  clip_check_ = CreateWindowExW(
      0, L"BUTTON", L"", WS_CHILD | WS_TABSTOP | BS_AUTOCHECKBOX, 0, 0, 10, 10, main_,
      reinterpret_cast<HMENU>(static_cast<INT_PTR>(kClipSwitch)), instance_, nullptr);
  SendMessageW(clip_check_, WM_SETFONT, reinterpret_cast<WPARAM>(Font(main_, kText)), FALSE);
  SetPropW(clip_check_, L"TetherFont", reinterpret_cast<HANDLE>(static_cast<INT_PTR>(kText + 1)));
  main_controls_.push_back({clip_check_, "check box"});
  transfers_heading_ = AddLabel(main_, main_controls_, kText);
  ShowWindow(transfers_heading_, SW_HIDE);
}

void Ui::ClipboardSwitch(const Json& c) {
  if (final_) return;
  SetText(clip_check_, Str(c, "label"), true);
  // BM_SETCHECK sends no BN_CLICKED: the app setting it is not reported.
  SendMessageW(clip_check_, BM_SETCHECK, Flag(c, "on") ? BST_CHECKED : BST_UNCHECKED, 0);
  clip_visible_ = Flag(c, "visible");
  LayoutMain();
}

void Ui::Transfers(const Json& c) {
  if (final_) return;
  std::vector<TransferRow> shown;
  const auto rows = c.find("rows");
  if (rows != c.end() && rows->is_array()) {
    for (const Json& r : *rows) {
      const std::string id = Str(r, "id");
      if (id.empty() || std::any_of(shown.begin(), shown.end(),
                                    [&](const TransferRow& row) { return row.id == id; }))
        continue;
      // A row that stays keeps its controls (and the keyboard, if its Cancel has it).
      auto it = std::find_if(rows_.begin(), rows_.end(),
                             [&](const TransferRow& row) { return row.id == id; });
      TransferRow row;
      if (it != rows_.end()) {
        row = *it;
        rows_.erase(it);
      } else {
        row.id = id;
        std::vector<Control> unused;  // OrderMain lists them
        row.text = AddLabel(main_, unused, kText);
        row.bar = CreateWindowExW(0, PROGRESS_CLASSW, L"", WS_CHILD | WS_VISIBLE, 0, 0, 10, 10,
                                  main_, nullptr, instance_, nullptr);
        SendMessageW(row.bar, PBM_SETRANGE32, 0, kBarRange);
        row.cancel = AddButton(main_, unused, next_cancel_id_++);
      }
      const std::string text = Str(r, "text");
      SetText(row.text, text);
      SetText(row.bar, text);  // not shown: its name, as a screen reader would read it
      const double fraction = std::clamp(Number(r, "fraction"), 0.0, 1.0);
      SendMessageW(row.bar, PBM_SETPOS, static_cast<WPARAM>(fraction * kBarRange + 0.5), 0);
      const std::string cancel = Str(r, "cancel");
      SetText(row.cancel, cancel, true);
      if (cancel.empty() && GetFocus() == row.cancel) SetFocus(main_);
      ShowWindow(row.cancel, cancel.empty() ? SW_HIDE : SW_SHOW);
      shown.push_back(row);
    }
  }
  for (const TransferRow& gone : rows_) {
    if (GetFocus() == gone.cancel) SetFocus(main_);
    for (HWND h : {gone.text, gone.bar, gone.cancel}) DestroyWindow(h);
  }
  rows_ = std::move(shown);
  SetText(transfers_heading_, Str(c, "heading"));
  OrderMain();
  LayoutMain();
}

int Ui::LayoutTools(int y) {
  HWND w = main_;
  const int pad = S(w, 18), width = S(w, 420), gap = S(w, 12), bh = S(w, 28);
  const bool clip = clip_visible_ && !final_;
  ShowWindow(clip_check_, clip ? SW_SHOW : SW_HIDE);
  if (clip) {
    const SIZE s = TextSize(w, clip_check_, width - S(w, 24));
    const int h = std::max(static_cast<int>(s.cy), S(w, 20));
    MoveWindow(clip_check_, pad, y, std::min(width, static_cast<int>(s.cx) + S(w, 24)), h, TRUE);
    y += h + gap;
  }
  const bool heading = GetWindowTextLengthW(transfers_heading_) > 0 && !final_;
  ShowWindow(transfers_heading_, heading ? SW_SHOW : SW_HIDE);
  if (heading) {
    const SIZE s = TextSize(w, transfers_heading_, width);
    MoveWindow(transfers_heading_, pad, y, width, s.cy, TRUE);
    y += s.cy + S(w, 6);
  }
  for (const TransferRow& row : rows_) {
    const SIZE s = TextSize(w, row.text, width);
    MoveWindow(row.text, pad, y, width, s.cy, TRUE);
    y += s.cy + S(w, 4);
    const bool cancel = IsWindowVisible(row.cancel) != FALSE;
    const int cw = cancel ? ButtonWidth(w, row.cancel) : 0;
    const int barw = cancel ? width - cw - S(w, 8) : width;
    MoveWindow(row.bar, pad, y + (bh - S(w, 16)) / 2, barw, S(w, 16), TRUE);
    if (cancel) MoveWindow(row.cancel, pad + width - cw, y, cw, bh, TRUE);
    y += bh + S(w, 8);
  }
  if (!rows_.empty() || heading) y += gap - S(w, 8);
  return y;
}

void Ui::OrderMain() {
  std::vector<Control> order;
  auto keep = [&](HWND h) {
    for (const Control& c : main_controls_)
      if (c.hwnd == h) order.push_back(c);
  };
  for (HWND h :
       {heading_, status_, share_text_, main_narrow_, main_stop_, clip_check_, transfers_heading_})
    keep(h);
  for (const TransferRow& row : rows_) {
    order.push_back({row.text, "label"});
    order.push_back({row.bar, "progress bar"});
    order.push_back({row.cancel, "push button"});
  }
  for (HWND h : {chat_log_, chat_entry_, chat_send_, quit_}) keep(h);
  main_controls_ = order;
  // The Tab order is the controls' z-order: the same as shown.
  HWND after = HWND_TOP;
  for (const Control& c : main_controls_) {
    SetWindowPos(c.hwnd, after, 0, 0, 0, 0, SWP_NOMOVE | SWP_NOSIZE | SWP_NOACTIVATE);
    after = c.hwnd;
  }
}

}  // namespace tether_window
