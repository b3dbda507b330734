// The system clipboard for clipboard sharing (issue 21): the text the technician copied is put
// there (setClipboard; the app window owns it until someone else copies); while the app watches,
// each change by another program (the user copied) is read and sent (WM_CLIPBOARDUPDATE); and one
// read on request. Nothing is read unless the app asked.
#include <cstring>
#include <cwchar>

#include "ui.h"

namespace tether_window {
namespace {

void Complain(const char* why) {
  DWORD written = 0;
  WriteFile(GetStdHandle(STD_ERROR_HANDLE), why, static_cast<DWORD>(strlen(why)), &written,
            nullptr);
}

/** Another program may hold the clipboard open for a moment: try for up to ~200 ms. */
bool OpenClipboardSoon(HWND owner) {
  for (int i = 0; i < 20; i++) {
    if (OpenClipboard(owner)) return true;
    Sleep(10);
  }
  return false;
}

}  // namespace

void Ui::WatchClipboard(bool on) {
  if (on == watch_) return;
  if (on) {
    seen_seq_ = GetClipboardSequenceNumber();  // what is there now was not copied now
    watch_ = AddClipboardFormatListener(main_) != FALSE;
  } else {
    RemoveClipboardFormatListener(main_);
    watch_ = false;
  }
}

void Ui::SetClipboard(const std::string& text) {
  if (text.size() > kMaxClipboard) {
    Complain("tether-window: clipboard text over kMaxClipboard bytes not set\n");
    return;
  }
  // Windows' line ends: a lone "\n" becomes "\r\n".
  std::wstring wide;
  for (wchar_t ch : Wide(text)) {
    if (ch == L'\n' && (wide.empty() || wide.back() != L'\r')) wide.push_back(L'\r');
    wide.push_back(ch);
  }
  if (!OpenClipboardSoon(main_)) {
    Complain("tether-window: the clipboard stayed busy: text not set\n");
    return;
  }
  EmptyClipboard();  // the app window becomes the clipboard's owner
  const size_t bytes = (wide.size() + 1) * sizeof(wchar_t);
  HGLOBAL memory = GlobalAlloc(GMEM_MOVEABLE, bytes);
  if (void* p = memory ? GlobalLock(memory) : nullptr) {
    memcpy(p, wide.c_str(), bytes);
    GlobalUnlock(memory);
    if (!SetClipboardData(CF_UNICODETEXT, memory)) GlobalFree(memory);  // else the system's
  } else if (memory) {
    GlobalFree(memory);
  }
  CloseClipboard();
  own_seq_ = GetClipboardSequenceNumber();  // the WM_CLIPBOARDUPDATE this causes is ours
}

void Ui::ClipboardChanged() {
  const DWORD seq = GetClipboardSequenceNumber();
  if (!watch_ || seq == seen_seq_) return;
  seen_seq_ = seq;
  if (seq == own_seq_ || GetClipboardOwner() == main_) return;  // our own set
  ReadClipboard(true);
}

void Ui::ReadClipboard(bool copied) {
  std::string text;
  bool has_text = false;
  if (OpenClipboardSoon(main_)) {
    if (HANDLE data = GetClipboardData(CF_UNICODETEXT)) {
      if (const auto* p = static_cast<const wchar_t*>(GlobalLock(data))) {
        const size_t most = GlobalSize(data) / sizeof(wchar_t);
        text = Utf8(std::wstring(p, wcsnlen(p, most)));
        has_text = true;
        GlobalUnlock(data);
      }
    }
    CloseClipboard();
  }
  if (copied && !has_text) return;  // a copy without text (an image): nothing to share
  Emit(ClipboardEvent(text, copied));
}

}  // namespace tether_window
