// Test double for the native tests: an X client that covers the screen with one window, draws
// what it is told on stdin, and reports every input event it receives on stdout as JSON lines.
//
// Commands (one per line):        Replies:
//   fill X Y W H RRGGBB             {"ok":"fill"}
//   cursor                          {"ok":"cursor"}  (16x16 cursor, hotspot 3,5: left half red,
//                                                     right half blue)
//   focus                           {"ok":"focus"}
//   sync                            every event up to now, then {"ok":"sync"}
//   raise                           {"ok":"raise"}  (asks the window manager to activate and raise
//   it) quit
// With --fullscreen after the display name, the window is an ordinary one that asks the window
// manager for full screen (_NET_WM_STATE_FULLSCREEN), titled "Tether test full screen", instead of
// an override-redirect one (the app window tests need a window manager's stacking).
// Events: {"event":"KeyPress","keycode":38,"keysym":97,"state":0}, {"event":"ButtonPress",
// "button":1,"x":10,"y":20}, {"event":"MotionNotify","x":..,"y":..}, ...
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <sys/select.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

namespace {

Display* g_dpy = nullptr;
Window g_win = 0;
GC g_gc = nullptr;

void Emit(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void Report(XEvent* ev) {
  char buf[512];
  switch (ev->type) {
    case KeyPress:
    case KeyRelease: {
      KeySym sym = NoSymbol;
      char text[32];
      XLookupString(&ev->xkey, text, sizeof text, &sym, nullptr);
      std::snprintf(buf, sizeof buf,
                    "{\"event\":\"%s\",\"keycode\":%u,\"keysym\":%lu,\"state\":%u}",
                    ev->type == KeyPress ? "KeyPress" : "KeyRelease", ev->xkey.keycode,
                    static_cast<unsigned long>(sym), ev->xkey.state);
      Emit(buf);
      break;
    }
    case ButtonPress:
    case ButtonRelease:
      std::snprintf(buf, sizeof buf,
                    "{\"event\":\"%s\",\"button\":%u,\"x\":%d,\"y\":%d,\"state\":%u}",
                    ev->type == ButtonPress ? "ButtonPress" : "ButtonRelease", ev->xbutton.button,
                    ev->xbutton.x_root, ev->xbutton.y_root, ev->xbutton.state);
      Emit(buf);
      break;
    case MotionNotify:
      std::snprintf(buf, sizeof buf, "{\"event\":\"MotionNotify\",\"x\":%d,\"y\":%d}",
                    ev->xmotion.x_root, ev->xmotion.y_root);
      Emit(buf);
      break;
    case MappingNotify:
      XRefreshKeyboardMapping(&ev->xmapping);
      break;
    default:
      break;
  }
}

void Drain() {
  while (XPending(g_dpy) > 0) {
    XEvent ev;
    XNextEvent(g_dpy, &ev);
    Report(&ev);
  }
}

void DefineCursor() {
  static unsigned char source[32];
  static unsigned char mask[32];
  for (int row = 0; row < 16; ++row) {
    source[row * 2] = 0xff;  // bits 0..7 (left half) set: foreground
    source[row * 2 + 1] = 0x00;
    mask[row * 2] = 0xff;
    mask[row * 2 + 1] = 0xff;
  }
  Pixmap src = XCreateBitmapFromData(g_dpy, g_win, reinterpret_cast<char*>(source), 16, 16);
  Pixmap msk = XCreateBitmapFromData(g_dpy, g_win, reinterpret_cast<char*>(mask), 16, 16);
  XColor fg{}, bg{};
  fg.red = 0xffff;
  fg.flags = DoRed | DoGreen | DoBlue;
  bg.blue = 0xffff;
  bg.flags = DoRed | DoGreen | DoBlue;
  Cursor c = XCreatePixmapCursor(g_dpy, src, msk, &fg, &bg, 3, 5);
  XDefineCursor(g_dpy, g_win, c);
  XFreePixmap(g_dpy, src);
  XFreePixmap(g_dpy, msk);
}

bool Handle(const std::string& line) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  if (cmd == "fill") {
    int x = 0, y = 0, w = 0, h = 0;
    std::string hex;
    in >> x >> y >> w >> h >> hex;
    XSetForeground(g_dpy, g_gc, std::strtoul(hex.c_str(), nullptr, 16));
    XFillRectangle(g_dpy, g_win, g_gc, x, y, static_cast<unsigned>(w), static_cast<unsigned>(h));
    XSync(g_dpy, False);
    Emit("{\"ok\":\"fill\"}");
  } else if (cmd == "cursor") {
    DefineCursor();
    XSync(g_dpy, False);
    Emit("{\"ok\":\"cursor\"}");
  } else if (cmd == "focus") {
    XSetInputFocus(g_dpy, g_win, RevertToParent, CurrentTime);
    XSync(g_dpy, False);
    Emit("{\"ok\":\"focus\"}");
  } else if (cmd == "raise") {
    XEvent e{};
    e.xclient.type = ClientMessage;
    e.xclient.window = g_win;
    e.xclient.message_type = XInternAtom(g_dpy, "_NET_ACTIVE_WINDOW", False);
    e.xclient.format = 32;
    e.xclient.data.l[0] = 2;  // source: a pager (the user asked)
    XSendEvent(g_dpy, DefaultRootWindow(g_dpy), False,
               SubstructureRedirectMask | SubstructureNotifyMask, &e);
    XRaiseWindow(g_dpy, g_win);
    XSync(g_dpy, False);
    Emit("{\"ok\":\"raise\"}");
  } else if (cmd == "sync") {
    XSync(g_dpy, False);
    Drain();
    Emit("{\"ok\":\"sync\"}");
  } else if (cmd == "quit") {
    return false;
  } else if (!cmd.empty()) {
    Emit("{\"error\":\"unknown command\"}");
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const char* name = argc > 1 ? argv[1] : nullptr;
  const bool fullscreen = argc > 2 && std::strcmp(argv[2], "--fullscreen") == 0;
  g_dpy = XOpenDisplay(name);
  if (g_dpy == nullptr) {
    std::fprintf(stderr, "cannot open display\n");
    return 2;
  }
  const int screen = DefaultScreen(g_dpy);
  XSetWindowAttributes attrs{};
  attrs.override_redirect = fullscreen ? False : True;
  attrs.background_pixel = BlackPixel(g_dpy, screen);
  attrs.event_mask = KeyPressMask | KeyReleaseMask | ButtonPressMask | ButtonReleaseMask |
                     PointerMotionMask | ExposureMask;
  g_win = XCreateWindow(
      g_dpy, DefaultRootWindow(g_dpy), 0, 0, static_cast<unsigned>(DisplayWidth(g_dpy, screen)),
      static_cast<unsigned>(DisplayHeight(g_dpy, screen)), 0, CopyFromParent, InputOutput,
      CopyFromParent, CWOverrideRedirect | CWBackPixel | CWEventMask, &attrs);
  if (fullscreen) {
    Atom state = XInternAtom(g_dpy, "_NET_WM_STATE", False);
    Atom full = XInternAtom(g_dpy, "_NET_WM_STATE_FULLSCREEN", False);
    XChangeProperty(g_dpy, g_win, state, XA_ATOM, 32, PropModeReplace,
                    reinterpret_cast<unsigned char*>(&full), 1);
    XStoreName(g_dpy, g_win, "Tether test full screen");
  }
  if (fullscreen) XSelectInput(g_dpy, g_win, attrs.event_mask | StructureNotifyMask);
  XMapRaised(g_dpy, g_win);
  g_gc = XCreateGC(g_dpy, g_win, 0, nullptr);
  XSync(g_dpy, False);
  if (fullscreen) {
    // The window manager maps it (and gives it the focus); wait until it is viewable.
    XEvent e;
    do XNextEvent(g_dpy, &e);
    while (e.type != MapNotify);
  } else {
    XSetInputFocus(g_dpy, g_win, RevertToParent, CurrentTime);
  }
  XSync(g_dpy, False);
  Emit("{\"ok\":\"ready\"}");

  std::string pending;
  const int xfd = ConnectionNumber(g_dpy);
  for (;;) {
    Drain();
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(0, &fds);
    FD_SET(xfd, &fds);
    if (select(xfd + 1, &fds, nullptr, nullptr, nullptr) < 0) continue;
    if (FD_ISSET(0, &fds)) {
      char chunk[4096];
      const ssize_t n = read(0, chunk, sizeof chunk);
      if (n <= 0) break;
      pending.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        const std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        Drain();
        if (!Handle(line)) {
          XCloseDisplay(g_dpy);
          return 0;
        }
      }
    }
  }
  XCloseDisplay(g_dpy);
  return 0;
}
