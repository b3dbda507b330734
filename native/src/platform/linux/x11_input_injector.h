// X11 input injection through XTEST.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "platform/linux/x11_connection.h"
#include "platform/linux/x11_headers.h"
#include "tether/input_injector.h"

namespace tether {

// Keys are pressed by keycode = evdev scancode + 8, which holds on X servers with an evdev keymap
// (checked in Start()). Text typing looks each character's keysym up in the current keymap and,
// when it is missing (or needs a level beyond Shift), maps it onto a spare keycode (one with no
// keysyms) until RestoreKeymap().
class X11InputInjector final : public InputInjector {
 public:
  explicit X11InputInjector(InjectorOptions options);
  ~X11InputInjector() override;

  Status Start() override;
  Status MoveMouse(int32_t x, int32_t y) override;
  Status Button(MouseButton button, KeyAction action) override;
  Status Wheel(int32_t dx, int32_t dy) override;
  Status Key(const std::string& code, KeyAction action, Modifiers modifiers) override;
  Status Text(const std::string& utf8) override;
  Status RestoreKeymap() override;
  Status ReleaseAll() override;
  Status SelectMonitor(const std::string& name) override;
  Status TargetArea(Rect* area) override;
  void Close() override;

 private:
  Status CheckOpen() const;
  Status AreaFor(const std::string& monitor, Rect* area);
  // Sends a key event and records it for ReleaseAll().
  void SendKey(unsigned int keycode, bool down);
  void SendButton(unsigned int button, bool down);
  // XSync: the server has applied the events on return (and has the remapped keycodes' events).
  Status Flush();
  void MarkSparesFlushed();
  // A keycode producing `keysym` at level 0 or 1; remaps a spare keycode if needed.
  Status KeycodeForKeysym(unsigned long keysym, unsigned int* keycode, bool* shift);

  InjectorOptions options_;
  std::unique_ptr<XConnection> conn_;
  bool closed_ = false;
  bool evdev_keymap_ = false;
  std::string monitor_;
  int min_keycode_ = 8, max_keycode_ = 255;
  std::vector<unsigned int> spare_keycodes_;        // keycodes with no keysym at Start()
  std::map<unsigned int, unsigned long> remapped_;  // spare keycode -> keysym typed
  std::vector<unsigned int> remap_order_;           // least recently used first
  // Remapped keycodes typed since the last XSync, and when each one's last events reached the
  // server: a spare is remapped again only once clients had time to read those (kRemapSettle).
  std::set<unsigned int> unflushed_spares_;
  std::map<unsigned int, std::chrono::steady_clock::time_point> spare_flushed_at_;
  std::set<unsigned int> keys_down_;
  std::set<unsigned int> buttons_down_;
};

}  // namespace tether
