#include "platform/linux/x11_input_injector.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "tether/keycodes.h"

namespace tether {

namespace {

constexpr unsigned int kEvdevOffset = 8;  // X keycode = evdev scancode + 8 on evdev keymaps
constexpr int32_t kMaxWheelNotches = 100;
// How long clients get to read the events of a remapped keycode before it is remapped again.
constexpr std::chrono::milliseconds kRemapSettle(30);

// Decodes UTF-8; returns false on malformed input.
bool DecodeUtf8(const std::string& s, std::vector<uint32_t>* out) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t extra = 0;
    if (c < 0x80) {
      cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      cp = c & 0x1f, extra = 1;
    } else if ((c & 0xf0) == 0xe0) {
      cp = c & 0x0f, extra = 2;
    } else if ((c & 0xf8) == 0xf0) {
      cp = c & 0x07, extra = 3;
    } else {
      return false;
    }
    for (size_t k = 1; k <= extra; ++k) {
      if (i + k >= s.size()) return false;
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    out->push_back(cp);
    i += extra + 1;
  }
  return true;
}

// Unicode code point -> X keysym (Latin-1 keysyms equal their code points; the rest use the
// 0x01000000 + code point convention that every modern X server understands).
unsigned long KeysymForCodePoint(uint32_t cp) {
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) return cp;
  return 0x01000000UL + cp;
}

}  // namespace

X11InputInjector::X11InputInjector(InjectorOptions options)
    : options_(std::move(options)), monitor_(options_.monitor) {}

X11InputInjector::~X11InputInjector() {
  Close();
}

Status X11InputInjector::CheckOpen() const {
  if (closed_ || !conn_) return Status(ErrorCode::kClosed, "the injector is closed");
  if (conn_->lost()) return conn_->LostStatus();
  return Status::Ok();
}

Status X11InputInjector::Start() {
  if (closed_) return Status(ErrorCode::kClosed, "the injector is closed");
  Status status;
  conn_ = XConnection::Open(options_.display, &status);
  if (!conn_) return status;
  Display* dpy = conn_->display();
  int event_base = 0, error_base = 0, major = 0, minor = 0;
  if (!XTestQueryExtension(dpy, &event_base, &error_base, &major, &minor)) {
    return Status(ErrorCode::kNoExtension,
                  "X display '" + conn_->name() + "' has no XTEST extension: cannot inject input");
  }
  XTestGrabControl(dpy, True);  // keep injecting while another client grabs the server

  XkbDescPtr desc = XkbAllocKeyboard();
  if (desc != nullptr) {
    if (XkbGetNames(dpy, XkbKeycodesNameMask, desc) == Success && desc->names != nullptr &&
        desc->names->keycodes != None) {
      XUniquePtr<char> name(XGetAtomName(dpy, desc->names->keycodes));
      evdev_keymap_ = name && std::string(name.get()).rfind("evdev", 0) == 0;
    }
    XkbFreeKeyboard(desc, 0, True);
  }

  XDisplayKeycodes(dpy, &min_keycode_, &max_keycode_);
  int per_code = 0;
  XUniquePtr<KeySym> map(XGetKeyboardMapping(dpy, static_cast<KeyCode>(min_keycode_),
                                             max_keycode_ - min_keycode_ + 1, &per_code));
  if (map) {
    for (int kc = max_keycode_; kc >= min_keycode_; --kc) {  // high keycodes are rarely used
      bool empty = true;
      for (int j = 0; j < per_code; ++j) {
        if (map.get()[(kc - min_keycode_) * per_code + j] != NoSymbol) empty = false;
      }
      if (empty) spare_keycodes_.push_back(static_cast<unsigned int>(kc));
    }
  }
  Rect area;
  return AreaFor(monitor_, &area);
}

Status X11InputInjector::AreaFor(const std::string& monitor, Rect* area) {
  Display* dpy = conn_->display();
  Window root_return = 0;
  int x = 0, y = 0;
  unsigned int width = 0, height = 0, border = 0, depth = 0;
  XGetGeometry(dpy, conn_->root(), &root_return, &x, &y, &width, &height, &border, &depth);
  if (conn_->lost()) return conn_->LostStatus();
  const Rect screen{0, 0, static_cast<int32_t>(width), static_cast<int32_t>(height)};
  if (monitor.empty()) {
    *area = screen;
    return Status::Ok();
  }
  int count = 0;
  std::unique_ptr<XRRMonitorInfo, void (*)(XRRMonitorInfo*)> list(
      XRRGetMonitors(dpy, conn_->root(), True, &count), XRRFreeMonitors);
  std::string known;
  for (int i = 0; list && i < count; ++i) {
    const XRRMonitorInfo& m = list.get()[i];
    XUniquePtr<char> name(XGetAtomName(dpy, m.name));
    const std::string n = name ? name.get() : "";
    if (n == monitor) {
      *area = Rect{m.x, m.y, m.width, m.height}.Intersect(screen);
      return Status::Ok();
    }
    known += (known.empty() ? "" : ", ") + n;
  }
  return Status(ErrorCode::kBadArgument,
                "no monitor named '" + monitor + "' (monitors: " + known + ")");
}

Status X11InputInjector::TargetArea(Rect* area) {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  return AreaFor(monitor_, area);
}

Status X11InputInjector::SelectMonitor(const std::string& name) {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  Rect area;
  Status s = AreaFor(name, &area);
  if (s.ok()) monitor_ = name;
  return s;
}

Status X11InputInjector::Flush() {
  XSync(conn_->display(), False);  // a round trip: the server has applied the events on return
  MarkSparesFlushed();
  if (conn_->lost()) return conn_->LostStatus();
  return Status::Ok();
}

void X11InputInjector::MarkSparesFlushed() {
  const auto now = std::chrono::steady_clock::now();
  for (unsigned int kc : unflushed_spares_) spare_flushed_at_[kc] = now;
  unflushed_spares_.clear();
}

void X11InputInjector::SendKey(unsigned int keycode, bool down) {
  XTestFakeKeyEvent(conn_->display(), keycode, down ? True : False, CurrentTime);
  if (down) {
    keys_down_.insert(keycode);
  } else {
    keys_down_.erase(keycode);
  }
}

void X11InputInjector::SendButton(unsigned int button, bool down) {
  XTestFakeButtonEvent(conn_->display(), button, down ? True : False, CurrentTime);
  if (down) {
    buttons_down_.insert(button);
  } else {
    buttons_down_.erase(button);
  }
}

Status X11InputInjector::MoveMouse(int32_t x, int32_t y) {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  Rect area;
  Status s = AreaFor(monitor_, &area);
  if (!s.ok()) return s;
  if (x < 0 || y < 0 || x >= area.width || y >= area.height) {
    return Status(ErrorCode::kBadArgument, "pointer position (" + std::to_string(x) + ", " +
                                               std::to_string(y) + ") is outside the " +
                                               std::to_string(area.width) + "x" +
                                               std::to_string(area.height) + " target area");
  }
  XTestFakeMotionEvent(conn_->display(), conn_->screen(), area.x + x, area.y + y, CurrentTime);
  return Flush();
}

Status X11InputInjector::Button(MouseButton button, KeyAction action) {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  unsigned int b = 1;
  switch (button) {
    case MouseButton::kLeft:
      b = 1;
      break;
    case MouseButton::kMiddle:
      b = 2;
      break;
    case MouseButton::kRight:
      b = 3;
      break;
    case MouseButton::kBack:
      b = 8;
      break;
    case MouseButton::kForward:
      b = 9;
      break;
  }
  if (action != KeyAction::kUp) SendButton(b, true);
  if (action != KeyAction::kDown) SendButton(b, false);
  return Flush();
}

Status X11InputInjector::Wheel(int32_t dx, int32_t dy) {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  if (dx < -kMaxWheelNotches || dx > kMaxWheelNotches || dy < -kMaxWheelNotches ||
      dy > kMaxWheelNotches) {
    return Status(ErrorCode::kBadArgument,
                  "wheel notches must lie within +-" + std::to_string(kMaxWheelNotches));
  }
  // Core protocol wheel: buttons 4/5 = up/down, 6/7 = left/right, one click per notch.
  for (int32_t i = 0; i < std::abs(dy); ++i) {
    SendButton(dy > 0 ? 5 : 4, true);
    SendButton(dy > 0 ? 5 : 4, false);
  }
  for (int32_t i = 0; i < std::abs(dx); ++i) {
    SendButton(dx > 0 ? 7 : 6, true);
    SendButton(dx > 0 ? 7 : 6, false);
  }
  return Flush();
}

Status X11InputInjector::Key(const std::string& code, KeyAction action, Modifiers modifiers) {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  const int32_t scancode = EvdevScancodeForCode(code);
  if (scancode < 0) {
    return Status(ErrorCode::kBadArgument,
                  "unknown KeyboardEvent.code '" + code + "' (expected e.g. 'KeyA', 'Enter')");
  }
  if (modifiers.any() && action != KeyAction::kPress) {
    return Status(ErrorCode::kBadArgument,
                  "modifiers apply to action 'press'; send modifier keys as their own down/up");
  }
  if (!evdev_keymap_) {
    return Status(
        ErrorCode::kUnsupportedFormat,
        "the X server's keymap does not use evdev keycodes: keys by code are unsupported");
  }
  const unsigned int keycode = static_cast<unsigned int>(scancode) + kEvdevOffset;
  std::vector<unsigned int> pressed_mods;
  if (action == KeyAction::kPress) {
    const std::pair<bool, int32_t> mods[] = {{modifiers.control, kEvdevControlLeft},
                                             {modifiers.alt, kEvdevAltLeft},
                                             {modifiers.shift, kEvdevShiftLeft},
                                             {modifiers.meta, kEvdevMetaLeft}};
    for (const auto& m : mods) {
      const unsigned int kc = static_cast<unsigned int>(m.second) + kEvdevOffset;
      if (m.first && keys_down_.count(kc) == 0) {
        SendKey(kc, true);
        pressed_mods.push_back(kc);
      }
    }
  }
  if (action != KeyAction::kUp) SendKey(keycode, true);
  if (action != KeyAction::kDown) SendKey(keycode, false);
  for (auto it = pressed_mods.rbegin(); it != pressed_mods.rend(); ++it) SendKey(*it, false);
  return Flush();
}

Status X11InputInjector::KeycodeForKeysym(unsigned long keysym, unsigned int* keycode,
                                          bool* shift) {
  Display* dpy = conn_->display();
  *shift = false;
  for (const auto& entry : remapped_) {
    if (entry.second == keysym) {
      *keycode = entry.first;
      remap_order_.erase(std::find(remap_order_.begin(), remap_order_.end(), entry.first));
      remap_order_.push_back(entry.first);
      return Status::Ok();
    }
  }
  const KeyCode kc = XKeysymToKeycode(dpy, keysym);
  if (kc != 0 && remapped_.count(kc) == 0) {
    if (XkbKeycodeToKeysym(dpy, kc, 0, 0) == keysym) {
      *keycode = kc;
      return Status::Ok();
    }
    if (XkbKeycodeToKeysym(dpy, kc, 0, 1) == keysym) {
      *keycode = kc;
      *shift = true;
      return Status::Ok();
    }
  }
  if (spare_keycodes_.empty()) {
    return Status(ErrorCode::kUnsupportedFormat,
                  "the keymap has no spare keycode to type characters it lacks");
  }
  unsigned int spare = 0;
  if (remapped_.size() < spare_keycodes_.size()) {
    for (unsigned int candidate : spare_keycodes_) {
      if (remapped_.count(candidate) == 0) {
        spare = candidate;
        break;
      }
    }
  } else {
    // Every spare is in use: reuse the least recently used one. Clients translate keycodes when
    // they read the event, so give them a moment to read its events before remapping it. One wait
    // covers every spare flushed with it: a long text waits once per round of spares, not per
    // character (per character, 1000 characters the keymap lacks blocked the thread for 30 s).
    spare = remap_order_.front();
    remap_order_.erase(remap_order_.begin());
    if (unflushed_spares_.count(spare) != 0) {
      XSync(dpy, False);
      MarkSparesFlushed();
    }
    const auto flushed = spare_flushed_at_.find(spare);
    if (flushed != spare_flushed_at_.end())
      std::this_thread::sleep_until(flushed->second + kRemapSettle);
  }
  KeySym syms[2] = {static_cast<KeySym>(keysym), static_cast<KeySym>(keysym)};
  XChangeKeyboardMapping(dpy, static_cast<int>(spare), 2, syms, 1);
  remapped_[spare] = keysym;
  remap_order_.push_back(spare);
  *keycode = spare;
  return Status::Ok();
}

Status X11InputInjector::Text(const std::string& utf8) {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  std::vector<uint32_t> cps;
  if (!DecodeUtf8(utf8, &cps)) return Status(ErrorCode::kBadArgument, "text is not valid UTF-8");
  const unsigned int shift_kc = kEvdevShiftLeft + kEvdevOffset;
  for (uint32_t cp : cps) {
    if (cp < 0x20 && cp != '\n' && cp != '\t' && cp != '\r') {
      return Status(ErrorCode::kBadArgument,
                    "text contains control character U+" + std::to_string(cp));
    }
  }
  for (uint32_t cp : cps) {
    unsigned int keycode = 0;
    bool shift = false;
    if (cp == '\n' || cp == '\r') {
      keycode = XKeysymToKeycode(conn_->display(), 0xff0d);  // Return
    } else if (cp == '\t') {
      keycode = XKeysymToKeycode(conn_->display(), 0xff09);  // Tab
    } else {
      Status s = KeycodeForKeysym(KeysymForCodePoint(cp), &keycode, &shift);
      if (!s.ok()) return s;
    }
    if (keycode == 0) continue;
    const bool shift_held = keys_down_.count(shift_kc) != 0;
    if (shift && !shift_held) SendKey(shift_kc, true);
    SendKey(keycode, true);
    SendKey(keycode, false);
    if (remapped_.count(keycode) != 0) unflushed_spares_.insert(keycode);
    if (shift && !shift_held) SendKey(shift_kc, false);
  }
  return Flush();
}

Status X11InputInjector::RestoreKeymap() {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  if (remapped_.empty()) return Status::Ok();
  XSync(conn_->display(), False);
  MarkSparesFlushed();
  for (const auto& entry : remapped_) {
    KeySym none[2] = {NoSymbol, NoSymbol};
    XChangeKeyboardMapping(conn_->display(), static_cast<int>(entry.first), 2, none, 1);
  }
  remapped_.clear();
  remap_order_.clear();
  return Flush();
}

Status X11InputInjector::ReleaseAll() {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  const std::set<unsigned int> keys = keys_down_;
  for (unsigned int kc : keys) SendKey(kc, false);
  const std::set<unsigned int> buttons = buttons_down_;
  for (unsigned int b : buttons) SendButton(b, false);
  Status s = Flush();
  if (!s.ok()) return s;
  return RestoreKeymap();
}

void X11InputInjector::Close() {
  if (closed_) return;
  if (conn_ && !conn_->lost()) {
    XErrorTrap trap(conn_->display());
    ReleaseAll();
    trap.Sync();
  }
  closed_ = true;
  conn_.reset();
}

}  // namespace tether
