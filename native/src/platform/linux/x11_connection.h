// One Xlib connection with its error handling. Linux/X11 only.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "platform/linux/x11_headers.h"
#include "tether/status.h"

namespace tether {

// Owns a Display*. Protocol errors never exit the process (a process-wide handler records them in
// the XErrorTrap active on the calling thread); a lost connection marks lost() instead of exiting.
// Thread: one thread at a time (the owner serializes); lost() is readable from any thread.
class XConnection {
 public:
  // Opens `name` ("" = $DISPLAY). kNoDisplay with an actionable message on failure.
  static std::unique_ptr<XConnection> Open(const std::string& name, Status* status);
  ~XConnection();
  XConnection(const XConnection&) = delete;
  XConnection& operator=(const XConnection&) = delete;

  Display* display() const { return display_; }
  Window root() const { return DefaultRootWindow(display_); }
  int screen() const { return DefaultScreen(display_); }
  const std::string& name() const { return name_; }
  // True once Xlib reported an I/O error (the server went away): every call after is pointless.
  bool lost() const { return lost_.load(); }
  Status LostStatus() const;

 private:
  XConnection(Display* display, std::string name);
  static void OnIoErrorExit(Display* display, void* self);

  Display* display_;
  std::string name_;
  std::atomic<bool> lost_{false};
};

// Collects X protocol errors raised on this thread for one display while it is in scope.
// Call Sync() (XSync) before reading error_code() so replies for earlier requests are in.
class XErrorTrap {
 public:
  explicit XErrorTrap(Display* display);
  ~XErrorTrap();
  XErrorTrap(const XErrorTrap&) = delete;
  XErrorTrap& operator=(const XErrorTrap&) = delete;

  // XSync, then the first error code seen (0 = none).
  int Sync();
  int error_code() const;

 private:
  XErrorTrap* previous_;
  Display* display_;
  int error_code_ = 0;
  friend int HandleXError(Display* display, XErrorEvent* event);
};

// Once per process, before any other Xlib call: XInitThreads and the error handlers.
void EnsureXlibInitialized();

// Releases an Xlib-allocated block with XFree.
struct XFreeDeleter {
  void operator()(void* p) const;
};
template <typename T>
using XUniquePtr = std::unique_ptr<T, XFreeDeleter>;

}  // namespace tether
