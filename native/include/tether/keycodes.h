// W3C KeyboardEvent.code -> Linux evdev scancode (the physical key). Portable table; X servers
// whose keymap uses evdev keycodes (Xorg, Xvfb, Xwayland) number keys as evdev + 8.
#pragma once

#include <cstdint>
#include <string>

namespace tether {

// Returns the evdev scancode for `code`, or -1 when the code is unknown.
int32_t EvdevScancodeForCode(const std::string& code);

// The evdev scancodes of the modifier keys used for Modifiers.
constexpr int32_t kEvdevShiftLeft = 42;
constexpr int32_t kEvdevControlLeft = 29;
constexpr int32_t kEvdevAltLeft = 56;
constexpr int32_t kEvdevMetaLeft = 125;
constexpr int32_t kEvdevEnter = 28;
constexpr int32_t kEvdevTab = 15;

}  // namespace tether
