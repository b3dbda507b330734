#include "platform/windows/sendinput_injector.h"

#include <utility>
#include <vector>

#include "platform/windows/win_util.h"
#include "tether/keycodes.h"

namespace tether {

namespace {

constexpr int32_t kMaxWheelNotches = 100;

// SendInput's absolute coordinates: 0..65535 across the virtual desktop. Aims at the pixel's
// centre, so that rounding either way lands on it.
LONG Normalized(int32_t pixel, int32_t origin, int32_t extent) {
  const int64_t p = static_cast<int64_t>(pixel) - origin;
  return static_cast<LONG>(((2 * p + 1) * 65536) / (2 * static_cast<int64_t>(extent)));
}

INPUT KeyInput(WORD scan, DWORD flags) {
  INPUT in{};
  in.type = INPUT_KEYBOARD;
  in.ki.wScan = scan;
  in.ki.dwFlags = flags;
  return in;
}

}  // namespace

SendInputInjector::SendInputInjector(InjectorOptions options)
    : options_(std::move(options)), monitor_(options_.monitor) {}

SendInputInjector::~SendInputInjector() {
  Close();
}

Status SendInputInjector::CheckOpen() const {
  if (closed_ || !started_) return Status(ErrorCode::kClosed, "the injector is closed");
  return Status::Ok();
}

Status SendInputInjector::Start() {
  if (closed_) return Status(ErrorCode::kClosed, "the injector is closed");
  Rect area;
  Status s = AreaForMonitor(monitor_, &area);
  if (s.ok()) started_ = true;
  return s;
}

Status SendInputInjector::Send(INPUT* inputs, UINT count, const char* what) {
  const UINT sent = SendInput(count, inputs, sizeof(INPUT));
  if (sent == count) return Status::Ok();
  return Status(ErrorCode::kInternal,
                Win32ErrorText(std::string("SendInput (") + what + ")", GetLastError()));
}

Status SendInputInjector::SendScan(int32_t scan, bool down) {
  DWORD flags = KEYEVENTF_SCANCODE | (down ? 0 : KEYEVENTF_KEYUP);
  if ((scan & 0xff00) == 0xe000) flags |= KEYEVENTF_EXTENDEDKEY;
  INPUT in = KeyInput(static_cast<WORD>(scan & 0xff), flags);
  // Windows ignores wVk with KEYEVENTF_SCANCODE; set it anyway for hooks that read it.
  in.ki.wVk = static_cast<WORD>(
      MapVirtualKeyW(static_cast<UINT>((scan & 0xff00) == 0xe000 ? (0xe000 | (scan & 0xff)) : scan),
                     MAPVK_VSC_TO_VK_EX));
  Status s = Send(&in, 1, "key");
  if (s.ok()) {
    if (down) {
      keys_down_.insert(scan);
    } else {
      keys_down_.erase(scan);
    }
  }
  return s;
}

Status SendInputInjector::SendButton(MouseButton button, bool down) {
  INPUT in{};
  in.type = INPUT_MOUSE;
  switch (button) {
    case MouseButton::kLeft:
      in.mi.dwFlags = down ? MOUSEEVENTF_LEFTDOWN : MOUSEEVENTF_LEFTUP;
      break;
    case MouseButton::kMiddle:
      in.mi.dwFlags = down ? MOUSEEVENTF_MIDDLEDOWN : MOUSEEVENTF_MIDDLEUP;
      break;
    case MouseButton::kRight:
      in.mi.dwFlags = down ? MOUSEEVENTF_RIGHTDOWN : MOUSEEVENTF_RIGHTUP;
      break;
    case MouseButton::kBack:
    case MouseButton::kForward:
      in.mi.dwFlags = down ? MOUSEEVENTF_XDOWN : MOUSEEVENTF_XUP;
      in.mi.mouseData = button == MouseButton::kBack ? XBUTTON1 : XBUTTON2;
      break;
  }
  Status s = Send(&in, 1, "button");
  if (s.ok()) {
    if (down) {
      buttons_down_.insert(button);
    } else {
      buttons_down_.erase(button);
    }
  }
  return s;
}

Status SendInputInjector::MoveMouse(int32_t x, int32_t y) {
  Status s = CheckOpen();
  if (!s.ok()) return s;
  ScopedDpiAwareness dpi;
  Rect area;
  s = AreaForMonitor(monitor_, &area);
  if (!s.ok()) return s;
  if (x < 0 || y < 0 || x >= area.width || y >= area.height) {
    return Status(ErrorCode::kBadArgument, "pointer position (" + std::to_string(x) + ", " +
                                               std::to_string(y) + ") is outside the " +
                                               std::to_string(area.width) + "x" +
                                               std::to_string(area.height) + " target area");
  }
  const Rect desk = VirtualScreen();
  INPUT in{};
  in.type = INPUT_MOUSE;
  in.mi.dx = Normalized(area.x + x, desk.x, desk.width);
  in.mi.dy = Normalized(area.y + y, desk.y, desk.height);
  in.mi.dwFlags = MOUSEEVENTF_MOVE | MOUSEEVENTF_ABSOLUTE | MOUSEEVENTF_VIRTUALDESK;
  return Send(&in, 1, "move");
}

Status SendInputInjector::Button(MouseButton button, KeyAction action) {
  Status s = CheckOpen();
  if (!s.ok()) return s;
  if (action != KeyAction::kUp) s = SendButton(button, true);
  if (s.ok() && action != KeyAction::kDown) s = SendButton(button, false);
  return s;
}

Status SendInputInjector::Wheel(int32_t dx, int32_t dy) {
  Status s = CheckOpen();
  if (!s.ok()) return s;
  if (dx < -kMaxWheelNotches || dx > kMaxWheelNotches || dy < -kMaxWheelNotches ||
      dy > kMaxWheelNotches) {
    return Status(ErrorCode::kBadArgument, "wheel notches must be within +-100");
  }
  if (dy != 0) {
    INPUT in{};
    in.type = INPUT_MOUSE;
    in.mi.dwFlags = MOUSEEVENTF_WHEEL;
    in.mi.mouseData = static_cast<DWORD>(-dy * WHEEL_DELTA);  // positive = away from the user
    s = Send(&in, 1, "wheel");
  }
  if (s.ok() && dx != 0) {
    INPUT in{};
    in.type = INPUT_MOUSE;
    in.mi.dwFlags = MOUSEEVENTF_HWHEEL;
    in.mi.mouseData = static_cast<DWORD>(dx * WHEEL_DELTA);  // positive = to the right
    s = Send(&in, 1, "horizontal wheel");
  }
  return s;
}

Status SendInputInjector::Key(const std::string& code, KeyAction action, Modifiers modifiers) {
  Status s = CheckOpen();
  if (!s.ok()) return s;
  const int32_t evdev = EvdevScancodeForCode(code);
  const int32_t scan = evdev < 0 ? -1 : PcScancodeForEvdev(evdev);
  if (scan < 0) {
    return Status(ErrorCode::kBadArgument, "unknown or unsupported KeyboardEvent.code '" + code +
                                               "' (no Windows scan code)");
  }
  std::vector<int32_t> mods;  // pressed around a kPress, released in reverse
  if (action == KeyAction::kPress) {
    if (modifiers.control) mods.push_back(PcScancodeForEvdev(kEvdevControlLeft));
    if (modifiers.shift) mods.push_back(PcScancodeForEvdev(kEvdevShiftLeft));
    if (modifiers.alt) mods.push_back(PcScancodeForEvdev(kEvdevAltLeft));
    if (modifiers.meta) mods.push_back(PcScancodeForEvdev(kEvdevMetaLeft));
  }
  for (int32_t m : mods) {
    if (s.ok()) s = SendScan(m, true);
  }
  if (s.ok() && action != KeyAction::kUp) s = SendScan(scan, true);
  if (s.ok() && action != KeyAction::kDown) s = SendScan(scan, false);
  for (auto it = mods.rbegin(); it != mods.rend(); ++it) {
    Status up = SendScan(*it, false);  // always lift what was pressed
    if (s.ok()) s = up;
  }
  return s;
}

Status SendInputInjector::Text(const std::string& utf8) {
  Status s = CheckOpen();
  if (!s.ok()) return s;
  const std::wstring text = WideFromUtf8(utf8);
  if (text.empty() && !utf8.empty()) {
    return Status(ErrorCode::kBadArgument, "text is not valid UTF-8");
  }
  std::vector<INPUT> inputs;
  inputs.reserve(text.size() * 2);
  for (wchar_t unit : text) {  // surrogate pairs go as two units, as Windows expects
    inputs.push_back(KeyInput(static_cast<WORD>(unit), KEYEVENTF_UNICODE));
    inputs.push_back(KeyInput(static_cast<WORD>(unit), KEYEVENTF_UNICODE | KEYEVENTF_KEYUP));
  }
  if (inputs.empty()) return Status::Ok();
  return Send(inputs.data(), static_cast<UINT>(inputs.size()), "text");
}

Status SendInputInjector::RestoreKeymap() {
  return CheckOpen();
}

Status SendInputInjector::ReleaseAll() {
  Status s = CheckOpen();
  if (!s.ok()) return s;
  const std::set<int32_t> keys = keys_down_;
  for (int32_t k : keys) {
    Status r = SendScan(k, false);
    if (s.ok()) s = r;
  }
  keys_down_.clear();
  const std::set<MouseButton> buttons = buttons_down_;
  for (MouseButton b : buttons) {
    Status r = SendButton(b, false);
    if (s.ok()) s = r;
  }
  buttons_down_.clear();
  return s;
}

Status SendInputInjector::SelectMonitor(const std::string& name) {
  Status s = CheckOpen();
  if (!s.ok()) return s;
  Rect area;
  s = AreaForMonitor(name, &area);
  if (s.ok()) monitor_ = name;
  return s;
}

Status SendInputInjector::TargetArea(Rect* area) {
  Status s = CheckOpen();
  if (!s.ok()) return s;
  return AreaForMonitor(monitor_, area);
}

void SendInputInjector::Close() {
  if (closed_) return;
  if (started_) ReleaseAll();
  closed_ = true;
}

}  // namespace tether
