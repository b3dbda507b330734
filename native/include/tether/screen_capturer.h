// The capture contract: one class per backend (X11; DXGI and GDI on Windows). Portable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tether/frame.h"
#include "tether/geometry.h"
#include "tether/status.h"

namespace tether {

// A monitor as the display server names it; bounds in screen coordinates.
struct Monitor {
  std::string name;
  Rect bounds;
  bool primary = false;
};

struct CapturerOptions {
  std::string display;     // "" = the environment's default ($DISPLAY on X11)
  std::string monitor;     // "" = the whole screen, else a Monitor::name
  size_t max_buffers = 4;  // frame pool limit: buffers leased at once
};

enum class CaptureResult {
  kOk,              // *frame holds a frame
  kErrorTemporary,  // nothing captured this time; try again (pool exhausted, transient X error)
  kErrorPermanent,  // the capturer cannot go on (display lost); close it
  kDisplayChanged,  // the captured area changed size or place; the next call captures the new one
};

// Thread: not thread-safe; the owner serializes every call (the binding holds a mutex), and the
// calls may come from different threads one after the other. Start() must succeed before the rest.
class ScreenCapturer {
 public:
  virtual ~ScreenCapturer() = default;

  // Connects to the display and allocates. Errors: kNoDisplay, kNoXShm, kNoExtension,
  // kUnsupportedFormat, kBadArgument (unknown monitor), kUnsupportedPlatform.
  virtual Status Start() = 0;

  // Grabs what changed since the previous call into a buffer leased from the frame pool; the
  // caller returns it with ReleaseFrameBuffer(frame->pool, frame->lease_id), from any thread. On
  // anything but kOk, *error says why.
  virtual CaptureResult CaptureFrame(Frame* frame, Status* error) = 0;

  // Pointer position relative to the captured area, and its shape when it changed.
  virtual Status CaptureCursor(CursorState* cursor) = 0;

  // Current monitors, primary first when there is one.
  virtual Status GetMonitors(std::vector<Monitor>* monitors) = 0;

  // Captures monitor `name` from the next frame on; "" = the whole screen. kBadArgument if unknown.
  virtual Status SelectMonitor(const std::string& name) = 0;

  // The captured area in screen coordinates.
  virtual Rect capture_area() const = 0;

  // True when frames carry real damage (changed rectangles) rather than always the full frame.
  virtual bool damage_tracking() const = 0;

  // Frees every display resource; buffers still leased stay valid until released. Idempotent.
  virtual void Close() = 0;

  // Change-driven capture, so that a caller need not poll. ChangePending() (serialized like the
  // rest) reads what the display reported and says whether the next CaptureFrame may find a change
  // (damage, cursor shape, geometry). WaitForChange() blocks up to timeout_ms until the display
  // reports something or Wake() is called; it and Wake() are the two calls that are safe from any
  // thread at any time, also while another thread is in the others (they touch no capture state),
  // so a caller waits without holding its lock. Wait returns true when woken before the timeout.
  // Defaults, for capturers that cannot tell: always pending, no waiting.
  virtual bool ChangePending() { return true; }
  // True when the display reports pointer motion: then ChangePending() also answers a moved
  // pointer (at most once per kCursorIntervalMs, counted from the last CaptureCursor), and a
  // caller need not poll to follow the pointer on a still screen.
  virtual bool pointer_events() const { return false; }
  // How long until a change held back by that interval becomes pending (ms), or -1 for none: a
  // waiting caller waits at most this long before asking ChangePending() again.
  virtual int HeldBackMs() { return -1; }
  static constexpr int kCursorIntervalMs = 16;
  virtual bool WaitForChange(int timeout_ms) {
    (void)timeout_ms;
    return true;
  }
  virtual void Wake() {}
};

// Platform factory (defined once per platform under src/platform/<os>/): a capturer with change
// tracking where the display supports it, falling back to full grabs by wrapping.
std::unique_ptr<ScreenCapturer> CreateScreenCapturer(const CapturerOptions& options);
// A capturer that never uses change tracking (every frame is a full grab). For tests and
// benchmarks.
std::unique_ptr<ScreenCapturer> CreateFullFrameCapturer(const CapturerOptions& options);

// Name of the backend compiled in: "x11", "windows", or "unsupported".
const char* PlatformBackendName();

}  // namespace tether
