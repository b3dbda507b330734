#include "platform/windows/win_util.h"

#include <algorithm>

namespace tether {

std::string Utf8FromWide(const wchar_t* s) {
  const int n = WideCharToMultiByte(CP_UTF8, 0, s, -1, nullptr, 0, nullptr, nullptr);
  if (n <= 1) return std::string();
  std::string out(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, s, -1, out.data(), n, nullptr, nullptr);
  out.resize(static_cast<size_t>(n - 1));
  return out;
}

std::wstring WideFromUtf8(const std::string& s) {
  if (s.empty()) return std::wstring();
  const int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(std::max(n, 0)), L'\0');
  if (n > 0) MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), n);
  return out;
}

std::string Win32ErrorText(const std::string& what, unsigned long code) {
  wchar_t* text = nullptr;
  FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string message = text != nullptr ? Utf8FromWide(text) : std::string();
  if (text != nullptr) LocalFree(text);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r' ||
                              message.back() == ' ' || message.back() == '.')) {
    message.pop_back();
  }
  char hex[16];
  snprintf(hex, sizeof hex, "0x%08lx", code);
  return what + ": " + (message.empty() ? "unknown error" : message) + " (" + hex + ")";
}

namespace {
using SetContextFn = DPI_AWARENESS_CONTEXT(WINAPI*)(DPI_AWARENESS_CONTEXT);

SetContextFn SetThreadContext() {
  static const SetContextFn fn = [] {
    HMODULE user32 = GetModuleHandleW(L"user32.dll");
    FARPROC p =
        user32 != nullptr ? GetProcAddress(user32, "SetThreadDpiAwarenessContext") : nullptr;
    return reinterpret_cast<SetContextFn>(reinterpret_cast<void*>(p));
  }();
  return fn;
}
}  // namespace

ScopedDpiAwareness::ScopedDpiAwareness() {
  SetContextFn set = SetThreadContext();
  if (set == nullptr) return;
  DPI_AWARENESS_CONTEXT old = set(DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2);
  if (old == nullptr) old = set(DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE);  // before 1703
  previous_ = old;
}

ScopedDpiAwareness::~ScopedDpiAwareness() {
  if (previous_ != nullptr) SetThreadContext()(static_cast<DPI_AWARENESS_CONTEXT>(previous_));
}

Rect VirtualScreen() {
  return Rect{GetSystemMetrics(SM_XVIRTUALSCREEN), GetSystemMetrics(SM_YVIRTUALSCREEN),
              GetSystemMetrics(SM_CXVIRTUALSCREEN), GetSystemMetrics(SM_CYVIRTUALSCREEN)};
}

namespace {
BOOL CALLBACK AddMonitor(HMONITOR handle, HDC, LPRECT, LPARAM param) {
  auto* monitors = reinterpret_cast<std::vector<Monitor>*>(param);
  MONITORINFOEXW info{};
  info.cbSize = sizeof info;
  if (!GetMonitorInfoW(handle, &info)) return TRUE;
  const RECT& r = info.rcMonitor;
  monitors->push_back(Monitor{Utf8FromWide(info.szDevice),
                              Rect{r.left, r.top, r.right - r.left, r.bottom - r.top},
                              (info.dwFlags & MONITORINFOF_PRIMARY) != 0});
  return TRUE;
}
}  // namespace

Status EnumerateMonitors(std::vector<Monitor>* monitors) {
  ScopedDpiAwareness dpi;
  monitors->clear();
  if (!EnumDisplayMonitors(nullptr, nullptr, AddMonitor, reinterpret_cast<LPARAM>(monitors))) {
    return Status(ErrorCode::kNoDisplay, Win32ErrorText("EnumDisplayMonitors", GetLastError()));
  }
  if (monitors->empty()) monitors->push_back(Monitor{"screen", VirtualScreen(), true});
  std::stable_partition(monitors->begin(), monitors->end(),
                        [](const Monitor& m) { return m.primary; });
  return Status::Ok();
}

Status AreaForMonitor(const std::string& monitor, Rect* area) {
  ScopedDpiAwareness dpi;
  const Rect screen = VirtualScreen();
  if (screen.empty()) return Status(ErrorCode::kNoDisplay, "the virtual desktop has no size");
  if (monitor.empty()) {
    *area = screen;
    return Status::Ok();
  }
  std::vector<Monitor> monitors;
  Status s = EnumerateMonitors(&monitors);
  if (!s.ok()) return s;
  std::string known;
  for (const Monitor& m : monitors) {
    if (m.name == monitor) {
      *area = m.bounds.Intersect(screen);
      if (!area->empty()) return Status::Ok();
    }
    known += (known.empty() ? "" : ", ") + m.name;
  }
  return Status(ErrorCode::kBadArgument,
                "no monitor named '" + monitor + "' (monitors: " + known + ")");
}

}  // namespace tether
