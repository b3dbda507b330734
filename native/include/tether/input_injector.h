// The input contract: synthesize pointer and keyboard input. Portable: no OS header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tether/geometry.h"
#include "tether/status.h"

namespace tether {

enum class MouseButton { kLeft, kMiddle, kRight, kBack, kForward };
enum class KeyAction { kDown, kUp, kPress };  // kPress = down then up

struct Modifiers {
  bool shift = false;
  bool control = false;
  bool alt = false;
  bool meta = false;
  bool any() const { return shift || control || alt || meta; }
};

struct InjectorOptions {
  std::string display;  // "" = the environment's default
  std::string monitor;  // "" = coordinates are screen coordinates; else relative to this monitor
};

// Thread: not thread-safe; the owner serializes calls. Every method but Close() returns kClosed
// after Close(). Coordinates are pixels relative to target_area()'s top-left.
class InputInjector {
 public:
  virtual ~InputInjector() = default;

  // Errors: kNoDisplay, kNoExtension (no XTEST), kBadArgument (unknown monitor).
  virtual Status Start() = 0;
  // Absolute move. kBadArgument when (x, y) lies outside target_area().
  virtual Status MoveMouse(int32_t x, int32_t y) = 0;
  virtual Status Button(MouseButton button, KeyAction action) = 0;
  // Wheel notches: dy > 0 scrolls down, dx > 0 scrolls right.
  virtual Status Wheel(int32_t dx, int32_t dy) = 0;
  // A key by its W3C KeyboardEvent.code ("KeyA", "Enter", "ShiftLeft"...). `modifiers` are
  // pressed around the key and apply to kPress only. kBadArgument for an unknown code.
  virtual Status Key(const std::string& code, KeyAction action, Modifiers modifiers) = 0;
  // Types UTF-8 text. Characters missing from the keymap are typed through a spare keycode
  // temporarily mapped to them; RestoreKeymap() undoes those mappings.
  virtual Status Text(const std::string& utf8) = 0;
  // Restores every keycode that Text() remapped. Idempotent.
  virtual Status RestoreKeymap() = 0;
  // Lifts every key and button this injector holds down, then restores the keymap.
  virtual Status ReleaseAll() = 0;
  virtual Status SelectMonitor(const std::string& name) = 0;
  // The coordinate space, in screen coordinates (refreshed from the display on each call).
  virtual Status TargetArea(Rect* area) = 0;
  // Releases everything held, restores the keymap and disconnects. Idempotent.
  virtual void Close() = 0;
};

std::unique_ptr<InputInjector> CreateInputInjector(const InjectorOptions& options);

}  // namespace tether
