// Input injection through SendInput: keys by scan code (the W3C code -> evdev -> PC set-1 tables of
// src/common/keycodes.cc), text as Unicode key events, the pointer in absolute coordinates over the
// virtual desktop.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "platform/windows/win_headers.h"
#include "tether/input_injector.h"

namespace tether {

// SendInput reaches the desktop this process's thread is on; UIPI drops input to windows of a
// higher integrity level (an elevated application) without an error, which the agent cannot see.
class SendInputInjector final : public InputInjector {
 public:
  explicit SendInputInjector(InjectorOptions options);
  ~SendInputInjector() override;

  Status Start() override;
  Status MoveMouse(int32_t x, int32_t y) override;
  Status Button(MouseButton button, KeyAction action) override;
  Status Wheel(int32_t dx, int32_t dy) override;
  Status Key(const std::string& code, KeyAction action, Modifiers modifiers) override;
  // Each UTF-16 unit as a KEYEVENTF_UNICODE press: no keyboard layout involved, nothing remapped.
  Status Text(const std::string& utf8) override;
  Status RestoreKeymap() override;  // nothing is remapped on Windows: Ok
  Status ReleaseAll() override;
  Status SelectMonitor(const std::string& name) override;
  Status TargetArea(Rect* area) override;
  void Close() override;

 private:
  Status CheckOpen() const;
  // SendInput with `count` events; kInternal when Windows took fewer (blocked input).
  Status Send(INPUT* inputs, UINT count, const char* what);
  Status SendScan(int32_t scan, bool down);  // scan: PcScancodeForEvdev's value
  Status SendButton(MouseButton button, bool down);

  InjectorOptions options_;
  bool started_ = false;
  bool closed_ = false;
  std::string monitor_;
  std::set<int32_t> keys_down_;  // PC scan codes held by this injector
  std::set<MouseButton> buttons_down_;
};

}  // namespace tether
