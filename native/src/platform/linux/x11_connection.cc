#include "platform/linux/x11_connection.h"

#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <utility>

namespace tether {

namespace {
thread_local XErrorTrap* t_trap = nullptr;

int HandleIoError(Display*) {
  return 0;
}  // the per-display exit handler decides
}  // namespace

int HandleXError(Display* display, XErrorEvent* event) {
  for (XErrorTrap* trap = t_trap; trap != nullptr; trap = trap->previous_) {
    if (trap->display_ == display) {
      if (trap->error_code_ == 0) trap->error_code_ = event->error_code;
      return 0;
    }
  }
  return 0;  // an untrapped error (e.g. an async BadWindow) is ignored, never fatal
}

void EnsureXlibInitialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    XInitThreads();
    XSetErrorHandler(HandleXError);
    XSetIOErrorHandler(HandleIoError);
  });
}

void XFreeDeleter::operator()(void* p) const {
  if (p != nullptr) XFree(p);
}

XConnection::XConnection(Display* display, std::string name)
    : display_(display), name_(std::move(name)) {
  XSetIOErrorExitHandler(display_, &XConnection::OnIoErrorExit, this);
}

std::unique_ptr<XConnection> XConnection::Open(const std::string& name, Status* status) {
  EnsureXlibInitialized();
  const char* env = std::getenv("DISPLAY");
  std::string effective = name.empty() ? (env != nullptr ? env : "") : name;
  if (effective.empty()) {
    *status = Status(ErrorCode::kNoDisplay,
                     "no X display: DISPLAY is not set and no display option was given");
    return nullptr;
  }
  Display* display = XOpenDisplay(effective.c_str());
  if (display == nullptr) {
    *status = Status(ErrorCode::kNoDisplay, "cannot open X display '" + effective +
                                                "': is an X server running there, and may this "
                                                "user connect to it (XAUTHORITY)?");
    return nullptr;
  }
  *status = Status::Ok();
  return std::unique_ptr<XConnection>(new XConnection(display, effective));
}

XConnection::~XConnection() {
  if (!lost_.load()) {
    XCloseDisplay(display_);
    return;
  }
  // After an I/O error Xlib leaves the display locked (its exit handler returned instead of
  // exiting), so XCloseDisplay would wait forever. Close the socket and deliberately leak the
  // client-side Display structure (a few kilobytes, once per lost server).
  close(ConnectionNumber(display_));
}

Status XConnection::LostStatus() const {
  return Status(ErrorCode::kNoDisplay, "lost the connection to X display '" + name_ + "'");
}

void XConnection::OnIoErrorExit(Display*, void* self) {
  static_cast<XConnection*>(self)->lost_.store(true);
}

XErrorTrap::XErrorTrap(Display* display) : previous_(t_trap), display_(display) {
  t_trap = this;
}

XErrorTrap::~XErrorTrap() {
  t_trap = previous_;
}

int XErrorTrap::Sync() {
  XSync(display_, False);
  return error_code_;
}

int XErrorTrap::error_code() const {
  return error_code_;
}

}  // namespace tether
