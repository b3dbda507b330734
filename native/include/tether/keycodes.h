// W3C KeyboardEvent.code -> Linux evdev scancode (the physical key). Portable table; X servers
// whose keymap uses evdev keycodes (Xorg, Xvfb, Xwayland) number keys as evdev + 8.
#pragma once

#include <cstdint>
#include <string>

namespace tether {

// Returns the evdev scancode for `code`, or -1 when the code is unknown.
int32_t EvdevScancodeForCode(const std::string& code);

// The PC (IBM set 1) scan code Windows uses for the key with evdev scancode `evdev`: the low byte
// is the make code, 0xE000 marks an extended key (E0 prefix: SendInput's KEYEVENTF_EXTENDEDKEY).
// Returns -1 for a key Windows has no scan code for. Values: the Win column of Chromium's
// ui/events/keycodes/dom/dom_code_data.inc, which lists the same W3C codes.
int32_t PcScancodeForEvdev(int32_t evdev);

// The evdev scancodes of the modifier keys used for Modifiers.
constexpr int32_t kEvdevShiftLeft = 42;
constexpr int32_t kEvdevControlLeft = 29;
constexpr int32_t kEvdevAltLeft = 56;
constexpr int32_t kEvdevMetaLeft = 125;
constexpr int32_t kEvdevEnter = 28;
constexpr int32_t kEvdevTab = 15;

}  // namespace tether
