// tether-window.exe's entry: the JSON-lines channel to the support app and the message loop.
//
//   tether-window.exe --probe   prints {"win32":"10.0.19045"} and exits 0 if a window can be
//                               created here, exits 3 with one line on stderr if not.
//   tether-window.exe           reads commands from standard input, writes events to standard
//                               output; ends when standard input ends (the app is gone) or on
//                               {"cmd":"exit"}.
// A GUI program (no console of its own); the app starts it with pipes for both.
// clang-format off
#include "ui.h"  // windows.h, which commctrl.h needs first
#include <commctrl.h>
// clang-format on

#include <cstdio>
#include <cwchar>
#include <thread>

namespace tether_window {

void Emit(const Json& event) {
  const std::string line = EventLine(event) + "\n";
  DWORD written = 0;
  WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), line.data(), static_cast<DWORD>(line.size()), &written,
            nullptr);
}

namespace {

/** The input thread: splits standard input into lines and posts each to the app window. */
void ReadInput(HWND target) {
  HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
  std::string pending;
  bool overlong = false;  // dropping the rest of a line longer than kMaxLine
  char buf[4096];
  DWORD got = 0;
  while (in && in != INVALID_HANDLE_VALUE && ReadFile(in, buf, sizeof buf, &got, nullptr) &&
         got > 0) {
    for (DWORD i = 0; i < got; i++) {
      if (buf[i] != '\n') {
        if (!overlong && pending.size() < kMaxLine) {
          pending.push_back(buf[i]);
        } else {
          overlong = true;
          pending.clear();
        }
        continue;
      }
      if (!overlong && !pending.empty()) {
        if (pending.back() == '\r') pending.pop_back();
        PostMessageW(target, kLineMessage, 0, reinterpret_cast<LPARAM>(new std::string(pending)));
      }
      pending.clear();
      overlong = false;
    }
  }
  PostMessageW(target, kEndMessage, 0, 0);
}

std::string WindowsVersion() {
  // RtlGetVersion tells the truth whatever the manifest says (GetVersionEx may not).
  using RtlGetVersionFn = LONG(WINAPI*)(OSVERSIONINFOW*);
  OSVERSIONINFOW v = {};
  v.dwOSVersionInfoSize = sizeof v;
  auto get = reinterpret_cast<RtlGetVersionFn>(
      reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "RtlGetVersion")));
  if (!get || get(&v) != 0) return "unknown";
  return std::to_string(v.dwMajorVersion) + "." + std::to_string(v.dwMinorVersion) + "." +
         std::to_string(v.dwBuildNumber);
}

}  // namespace
}  // namespace tether_window

int WINAPI wWinMain(HINSTANCE instance, HINSTANCE, PWSTR, int) {
  using namespace tether_window;
  const bool probe = __argc > 1 && wcscmp(__wargv[1], L"--probe") == 0;
  INITCOMMONCONTROLSEX icc = {sizeof icc, ICC_STANDARD_CLASSES | ICC_PROGRESS_CLASS};
  InitCommonControlsEx(&icc);
  static Ui ui;  // lives until the process ends (the input thread may post to it until then)
  if (!ui.Create(instance)) {
    const std::string why =
        "cannot create a window (error " + std::to_string(GetLastError()) + ")\n";
    DWORD written = 0;
    WriteFile(GetStdHandle(STD_ERROR_HANDLE), why.data(), static_cast<DWORD>(why.size()), &written,
              nullptr);
    return 3;
  }
  const std::string version = WindowsVersion();
  if (probe) {
    Emit(Json{{"win32", version}});
    return 0;
  }
  std::thread(ReadInput, ui.main()).detach();
  Emit(Json{{"ev", "ready"}, {"win32", version}});
  MSG msg;
  while (GetMessageW(&msg, nullptr, 0, 0) > 0) {
    if (ui.PreTranslate(msg)) continue;
    HWND dialog = ui.DialogFor(msg);
    if (dialog && IsDialogMessageW(dialog, &msg)) continue;
    TranslateMessage(&msg);
    DispatchMessageW(&msg);
  }
  // The input thread may still be blocked in ReadFile: end the process, not just this thread.
  ExitProcess(0);
}
