// A Win32 test window for the Windows backend's tests (run under Wine): a borderless window at a
// given place, painted in four known colours, that logs every input it receives, one line each,
// to a file (Node's and Wine's pipes are unreliable there; a file is not).
//
//   tether_test_window.exe X Y WIDTH HEIGHT LOGFILE
//
// Quadrants: top-left red (255,0,0), top-right green (0,255,0), bottom-left blue (0,0,255),
// bottom-right white. Log lines (client coordinates):
//   ready <x> <y> <width> <height>
//   button <left|right|middle|x1|x2> <down|up> <x> <y>
//   wheel <vertical|horizontal> <delta>
//   key <down|up> vk=<hex> scan=<hex> ext=<0|1>
//   char U+<hex>
// windows.h first: the others need its types.
// clang-format off
#include <windows.h>
#include <shellapi.h>
#include <windowsx.h>
// clang-format on

#include <cstdio>
#include <cstdlib>
#include <cwchar>

namespace {

FILE* g_log = nullptr;

void Log(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vfprintf(g_log, format, args);
  va_end(args);
  fputc('\n', g_log);
  fflush(g_log);
}

void LogButton(const char* name, const char* dir, LPARAM lp) {
  Log("button %s %s %d %d", name, dir, GET_X_LPARAM(lp), GET_Y_LPARAM(lp));
}

void Paint(HWND hwnd) {
  PAINTSTRUCT ps;
  HDC dc = BeginPaint(hwnd, &ps);
  RECT r;
  GetClientRect(hwnd, &r);
  const int w = r.right / 2, h = r.bottom / 2;
  const struct {
    RECT rect;
    COLORREF color;
  } quads[] = {
      {{0, 0, w, h}, RGB(255, 0, 0)},
      {{w, 0, r.right, h}, RGB(0, 255, 0)},
      {{0, h, w, r.bottom}, RGB(0, 0, 255)},
      {{w, h, r.right, r.bottom}, RGB(255, 255, 255)},
  };
  for (const auto& q : quads) {
    HBRUSH brush = CreateSolidBrush(q.color);
    FillRect(dc, &q.rect, brush);
    DeleteObject(brush);
  }
  EndPaint(hwnd, &ps);
}

LRESULT CALLBACK WindowProc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  switch (msg) {
    case WM_PAINT:
      Paint(hwnd);
      return 0;
    case WM_LBUTTONDOWN:
      LogButton("left", "down", lp);
      return 0;
    case WM_LBUTTONUP:
      LogButton("left", "up", lp);
      return 0;
    case WM_RBUTTONDOWN:
      LogButton("right", "down", lp);
      return 0;
    case WM_RBUTTONUP:
      LogButton("right", "up", lp);
      return 0;
    case WM_MBUTTONDOWN:
      LogButton("middle", "down", lp);
      return 0;
    case WM_MBUTTONUP:
      LogButton("middle", "up", lp);
      return 0;
    case WM_XBUTTONDOWN:
    case WM_XBUTTONUP:
      LogButton(GET_XBUTTON_WPARAM(wp) == XBUTTON1 ? "x1" : "x2",
                msg == WM_XBUTTONDOWN ? "down" : "up", lp);
      return TRUE;
    case WM_MOUSEWHEEL:
      Log("wheel vertical %d", GET_WHEEL_DELTA_WPARAM(wp));
      return 0;
    case WM_MOUSEHWHEEL:
      Log("wheel horizontal %d", GET_WHEEL_DELTA_WPARAM(wp));
      return 0;
    case WM_KEYDOWN:
    case WM_KEYUP:
    case WM_SYSKEYDOWN:
    case WM_SYSKEYUP:
      Log("key %s vk=%02x scan=%02x ext=%d",
          (msg == WM_KEYDOWN || msg == WM_SYSKEYDOWN) ? "down" : "up", static_cast<unsigned>(wp),
          static_cast<unsigned>((lp >> 16) & 0xff), static_cast<int>((lp >> 24) & 1));
      return 0;
    case WM_CHAR:
      Log("char U+%04X", static_cast<unsigned>(wp));
      return 0;
    case WM_DESTROY:
      PostQuitMessage(0);
      return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}

}  // namespace

int WINAPI wWinMain(HINSTANCE instance, HINSTANCE, PWSTR, int) {
  int argc = 0;
  wchar_t** argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  if (argv == nullptr || argc != 6) return 2;
  const int x = _wtoi(argv[1]), y = _wtoi(argv[2]), w = _wtoi(argv[3]), h = _wtoi(argv[4]);
  g_log = _wfopen(argv[5], L"a");
  if (g_log == nullptr) return 3;
  SetProcessDPIAware();  // physical pixels, as the capturer sees them

  WNDCLASSW wc{};
  wc.lpfnWndProc = WindowProc;
  wc.hInstance = instance;
  wc.hCursor = LoadCursor(nullptr, IDC_ARROW);
  wc.lpszClassName = L"TetherTestWindow";
  RegisterClassW(&wc);
  HWND hwnd =
      CreateWindowExW(WS_EX_APPWINDOW | WS_EX_TOPMOST, wc.lpszClassName, L"Tether test",
                      WS_POPUP | WS_VISIBLE, x, y, w, h, nullptr, nullptr, instance, nullptr);
  if (hwnd == nullptr) return 4;
  SetForegroundWindow(hwnd);
  SetFocus(hwnd);
  UpdateWindow(hwnd);
  RECT r;
  GetWindowRect(hwnd, &r);
  Log("ready %ld %ld %ld %ld", r.left, r.top, r.right - r.left, r.bottom - r.top);

  MSG msg;
  while (GetMessageW(&msg, nullptr, 0, 0) > 0) {
    TranslateMessage(&msg);
    DispatchMessageW(&msg);
  }
  fclose(g_log);
  return 0;
}
