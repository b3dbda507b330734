// File questions (issue 21): one dialog per file, "Jane Doe sends report.pdf (2.1 MB)" with where
// it goes, and Decline (with the keyboard) / Accept. The consent dialog's rules: Accept is armed
// only kArmDelayMs after the dialog appears, a key held down when it appeared answers nothing until
// it is released (Ui::PreTranslate), Escape and the close box decline, no default button.
#include <algorithm>

#include "ui.h"

namespace tether_window {
namespace {

constexpr UINT_PTR kArmTimer = 2;

enum ButtonId { kFileDecline = 301, kFileAccept = 302 };

}  // namespace

void Ui::AskFile(const Json& c) {
  const std::string id = Str(c, "id");
  if (final_ || id.empty()) return;
  UnaskFile(id);  // the same file asked again: the new question replaces the old one
  auto owned = std::make_unique<FileDialog>();
  FileDialog* f = owned.get();
  f->id = id;
  // Owned by the app window (it goes with it, and stays above it), above other windows too.
  f->hwnd =
      CreateWindowExW(WS_EX_TOPMOST | WS_EX_DLGMODALFRAME, L"TetherSupportDialog",
                      Wide(Str(c, "title")).c_str(), WS_POPUP | WS_CAPTION | WS_SYSMENU,
                      CW_USEDEFAULT, CW_USEDEFAULT, 400, 200, main_, nullptr, instance_, this);
  if (!f->hwnd) {
    Emit(Json{{"ev", "fileAnswer"}, {"id", id}, {"answer", "decline"}});  // nobody could answer
    return;
  }
  f->heading = AddLabel(f->hwnd, f->controls, kHeading);
  SetText(f->heading, Str(c, "heading"));
  f->body = AddLabel(f->hwnd, f->controls, kText);
  SetText(f->body, Str(c, "body"));
  f->decline = AddButton(f->hwnd, f->controls, kFileDecline);
  SetText(f->decline, Str(c, "decline"), true);
  f->accept = AddButton(f->hwnd, f->controls, kFileAccept, false);  // armed after kArmDelayMs
  SetText(f->accept, Str(c, "accept"), true);
  files_.push_back(std::move(owned));
  LayoutFile(f);

  // Keys held while the dialog appears are read now, before it can take any: see PreTranslate.
  for (int vk = 0; vk < 256; vk++) {
    const bool mouse = vk == VK_LBUTTON || vk == VK_RBUTTON || vk == VK_MBUTTON ||
                       vk == VK_XBUTTON1 || vk == VK_XBUTTON2;
    f->held[vk] = !mouse && vk > 0 && (GetAsyncKeyState(vk) & 0x8000) != 0;
  }
  ShowWindow(f->hwnd, SW_SHOWNORMAL);
  SetForegroundWindow(f->hwnd);
  if (GetForegroundWindow() != f->hwnd) {  // Windows may refuse: then it flashes in the taskbar
    FLASHWINFO flash = {sizeof flash, f->hwnd, FLASHW_ALL | FLASHW_TIMERNOFG, 0, 0};
    FlashWindowEx(&flash);
  }
  SetFocus(f->decline);
  SetTimer(f->hwnd, kArmTimer, kArmDelayMs, nullptr);
}

void Ui::LayoutFile(FileDialog* f) {
  HWND w = f->hwnd;
  const int pad = S(w, 18), icon = S(w, 32), width = S(w, 400), bh = S(w, 28);
  const int x = pad + icon + S(w, 16);
  int y = pad;
  for (HWND c : {f->heading, f->body}) {
    const SIZE s = TextSize(w, c, width);
    MoveWindow(c, x, y, width, s.cy, TRUE);
    y += s.cy + S(w, 10);
  }
  y += S(w, 8);
  int right = x + width;
  for (HWND b : {f->accept, f->decline}) {  // right-aligned: Decline, Accept
    const int bw = ButtonWidth(w, b);
    MoveWindow(b, right - bw, y, bw, bh, TRUE);
    right -= bw + S(w, 6);
  }
  y += bh + pad;
  Resize(w, x + width + pad, y, true);
  // Several at once: each a little lower and to the right of the one before, so all can be seen.
  const auto it = std::find_if(files_.begin(), files_.end(),
                               [&](const auto& other) { return other.get() == f; });
  const int step = S(w, 28) * static_cast<int>(it - files_.begin());
  if (step > 0) {
    RECT r;
    GetWindowRect(w, &r);
    SetWindowPos(w, nullptr, r.left + step, r.top + step, 0, 0,
                 SWP_NOZORDER | SWP_NOACTIVATE | SWP_NOSIZE);
  }
}

void Ui::UnaskFile(const std::string& id) {
  const auto it =
      std::find_if(files_.begin(), files_.end(), [&](const auto& f) { return f->id == id; });
  if (it == files_.end()) return;
  const std::unique_ptr<FileDialog> f = std::move(*it);
  files_.erase(it);  // first: messages sent while it is destroyed find no question
  DestroyWindow(f->hwnd);
  ScheduleReport();
}

void Ui::FileAnswer(FileDialog* f, const char* answer) {
  const std::string id = f->id;  // f goes with its dialog
  Emit(Json{{"ev", "fileAnswer"}, {"id", id}, {"answer", answer}});
  UnaskFile(id);
}

FileDialog* Ui::FileFor(HWND hwnd) const {
  if (!hwnd) return nullptr;
  for (const auto& f : files_)
    if (f->hwnd == hwnd) return f.get();
  return nullptr;
}

}  // namespace tether_window
