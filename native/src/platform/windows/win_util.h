// Small helpers shared by the Windows backend: UTF-8/UTF-16, Win32 error text, owned handles, the
// virtual desktop and its monitors, and per-thread DPI awareness.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "platform/windows/win_headers.h"
#include "tether/geometry.h"
#include "tether/screen_capturer.h"
#include "tether/status.h"

namespace tether {

std::string Utf8FromWide(const wchar_t* s);
std::wstring WideFromUtf8(const std::string& s);
// "<what>: <system message> (error N)" for a Win32 or HRESULT code.
std::string Win32ErrorText(const std::string& what, unsigned long code);

// Owns a screen DC from GetDC(nullptr): the whole virtual desktop, origin at the primary
// monitor's top-left. ReleaseDC in the destructor.
class ScreenDc {
 public:
  ScreenDc() : dc_(GetDC(nullptr)) {}
  ~ScreenDc() {
    if (dc_ != nullptr) ReleaseDC(nullptr, dc_);
  }
  ScreenDc(const ScreenDc&) = delete;
  ScreenDc& operator=(const ScreenDc&) = delete;
  HDC get() const { return dc_; }

 private:
  HDC dc_;
};

// Owns a GDI object (bitmap, brush ...): DeleteObject in the destructor.
class GdiObject {
 public:
  explicit GdiObject(HGDIOBJ object = nullptr) : object_(object) {}
  ~GdiObject() { reset(); }
  GdiObject(const GdiObject&) = delete;
  GdiObject& operator=(const GdiObject&) = delete;
  void reset(HGDIOBJ object = nullptr) {
    if (object_ != nullptr) DeleteObject(object_);
    object_ = object;
  }
  HGDIOBJ get() const { return object_; }

 private:
  HGDIOBJ object_;
};

// The thread runs per-monitor DPI aware while this lives (physical pixels everywhere, whatever
// the process's own awareness), then gets its previous awareness back. A no-op where Windows has
// no SetThreadDpiAwarenessContext (before Windows 10 1607).
class ScopedDpiAwareness {
 public:
  ScopedDpiAwareness();
  ~ScopedDpiAwareness();
  ScopedDpiAwareness(const ScopedDpiAwareness&) = delete;
  ScopedDpiAwareness& operator=(const ScopedDpiAwareness&) = delete;

 private:
  void* previous_ = nullptr;  // DPI_AWARENESS_CONTEXT
};

// The virtual desktop (every monitor's bounding box) in screen coordinates; its origin is negative
// when a monitor lies left of or above the primary one.
Rect VirtualScreen();
// Every monitor, primary first: name = the GDI device name ("\\.\DISPLAY1"), bounds in screen
// coordinates.
Status EnumerateMonitors(std::vector<Monitor>* monitors);
// The area for `monitor` ("" = the virtual desktop), clipped to it. kBadArgument when unknown.
Status AreaForMonitor(const std::string& monitor, Rect* area);

}  // namespace tether
