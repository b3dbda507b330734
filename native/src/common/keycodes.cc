#include "tether/keycodes.h"

#include <unordered_map>

namespace tether {

int32_t EvdevScancodeForCode(const std::string& code) {
  // Values from linux/input-event-codes.h; names from the W3C "UI Events KeyboardEvent code
  // Values" specification.
  static const std::unordered_map<std::string, int32_t> kTable = {
      {"Escape", 1},
      {"Digit1", 2},
      {"Digit2", 3},
      {"Digit3", 4},
      {"Digit4", 5},
      {"Digit5", 6},
      {"Digit6", 7},
      {"Digit7", 8},
      {"Digit8", 9},
      {"Digit9", 10},
      {"Digit0", 11},
      {"Minus", 12},
      {"Equal", 13},
      {"Backspace", 14},
      {"Tab", 15},
      {"KeyQ", 16},
      {"KeyW", 17},
      {"KeyE", 18},
      {"KeyR", 19},
      {"KeyT", 20},
      {"KeyY", 21},
      {"KeyU", 22},
      {"KeyI", 23},
      {"KeyO", 24},
      {"KeyP", 25},
      {"BracketLeft", 26},
      {"BracketRight", 27},
      {"Enter", 28},
      {"ControlLeft", 29},
      {"KeyA", 30},
      {"KeyS", 31},
      {"KeyD", 32},
      {"KeyF", 33},
      {"KeyG", 34},
      {"KeyH", 35},
      {"KeyJ", 36},
      {"KeyK", 37},
      {"KeyL", 38},
      {"Semicolon", 39},
      {"Quote", 40},
      {"Backquote", 41},
      {"ShiftLeft", 42},
      {"Backslash", 43},
      {"KeyZ", 44},
      {"KeyX", 45},
      {"KeyC", 46},
      {"KeyV", 47},
      {"KeyB", 48},
      {"KeyN", 49},
      {"KeyM", 50},
      {"Comma", 51},
      {"Period", 52},
      {"Slash", 53},
      {"ShiftRight", 54},
      {"NumpadMultiply", 55},
      {"AltLeft", 56},
      {"Space", 57},
      {"CapsLock", 58},
      {"F1", 59},
      {"F2", 60},
      {"F3", 61},
      {"F4", 62},
      {"F5", 63},
      {"F6", 64},
      {"F7", 65},
      {"F8", 66},
      {"F9", 67},
      {"F10", 68},
      {"NumLock", 69},
      {"ScrollLock", 70},
      {"Numpad7", 71},
      {"Numpad8", 72},
      {"Numpad9", 73},
      {"NumpadSubtract", 74},
      {"Numpad4", 75},
      {"Numpad5", 76},
      {"Numpad6", 77},
      {"NumpadAdd", 78},
      {"Numpad1", 79},
      {"Numpad2", 80},
      {"Numpad3", 81},
      {"Numpad0", 82},
      {"NumpadDecimal", 83},
      {"Lang5", 85},
      {"IntlBackslash", 86},
      {"F11", 87},
      {"F12", 88},
      {"IntlRo", 89},
      {"Lang3", 90},
      {"Lang4", 91},
      {"Convert", 92},
      {"KanaMode", 93},
      {"NonConvert", 94},
      {"NumpadEnter", 96},
      {"ControlRight", 97},
      {"NumpadDivide", 98},
      {"PrintScreen", 99},
      {"AltRight", 100},
      {"Home", 102},
      {"ArrowUp", 103},
      {"PageUp", 104},
      {"ArrowLeft", 105},
      {"ArrowRight", 106},
      {"End", 107},
      {"ArrowDown", 108},
      {"PageDown", 109},
      {"Insert", 110},
      {"Delete", 111},
      {"AudioVolumeMute", 113},
      {"AudioVolumeDown", 114},
      {"AudioVolumeUp", 115},
      {"Power", 116},
      {"NumpadEqual", 117},
      {"Pause", 119},
      {"NumpadComma", 121},
      {"Lang1", 122},
      {"Lang2", 123},
      {"IntlYen", 124},
      {"MetaLeft", 125},
      {"MetaRight", 126},
      {"ContextMenu", 127},
      {"BrowserStop", 128},
      {"Again", 129},
      {"Props", 130},
      {"Undo", 131},
      {"Open", 134},
      {"Copy", 133},
      {"Paste", 135},
      {"Find", 136},
      {"Cut", 137},
      {"Help", 138},
      {"LaunchApp2", 140},
      {"Sleep", 142},
      {"WakeUp", 143},
      {"LaunchApp1", 144},
      {"LaunchMail", 155},
      {"BrowserFavorites", 156},
      {"BrowserBack", 158},
      {"BrowserForward", 159},
      {"Eject", 161},
      {"MediaTrackNext", 163},
      {"MediaPlayPause", 164},
      {"MediaTrackPrevious", 165},
      {"MediaStop", 166},
      {"BrowserHome", 172},
      {"BrowserRefresh", 173},
      {"NumpadParenLeft", 179},
      {"NumpadParenRight", 180},
      {"F13", 183},
      {"F14", 184},
      {"F15", 185},
      {"F16", 186},
      {"F17", 187},
      {"F18", 188},
      {"F19", 189},
      {"F20", 190},
      {"F21", 191},
      {"F22", 192},
      {"F23", 193},
      {"F24", 194},
      {"BrowserSearch", 217},
      {"MediaSelect", 226},
  };
  auto it = kTable.find(code);
  return it == kTable.end() ? -1 : it->second;
}

int32_t PcScancodeForEvdev(int32_t evdev) {
  // evdev numbers 1-88 are the PC set-1 make codes themselves (Linux took them from the AT
  // keyboard); keypad and navigation keys that share a make code are told apart by the E0 prefix.
  // Two exceptions: NumLock is E0 45 on Windows (0x45 alone is Pause), and Lang5 has none.
  if (evdev == 69) return 0xe045;
  if (evdev >= 1 && evdev <= 88 && evdev != 84 && evdev != 85) return evdev;
  static const std::unordered_map<int32_t, int32_t> kTable = {
      {89, 0x73},     // IntlRo
      {90, 0x78},     // Lang3
      {91, 0x77},     // Lang4
      {92, 0x79},     // Convert
      {93, 0x70},     // KanaMode
      {94, 0x7b},     // NonConvert
      {96, 0xe01c},   // NumpadEnter
      {97, 0xe01d},   // ControlRight
      {98, 0xe035},   // NumpadDivide
      {99, 0xe037},   // PrintScreen
      {100, 0xe038},  // AltRight
      {102, 0xe047},  // Home
      {103, 0xe048},  // ArrowUp
      {104, 0xe049},  // PageUp
      {105, 0xe04b},  // ArrowLeft
      {106, 0xe04d},  // ArrowRight
      {107, 0xe04f},  // End
      {108, 0xe050},  // ArrowDown
      {109, 0xe051},  // PageDown
      {110, 0xe052},  // Insert
      {111, 0xe053},  // Delete
      {113, 0xe020},  // AudioVolumeMute
      {114, 0xe02e},  // AudioVolumeDown
      {115, 0xe030},  // AudioVolumeUp
      {116, 0xe05e},  // Power
      {117, 0x59},    // NumpadEqual
      {119, 0x45},    // Pause (Windows sends it as 0x45 without E0; NumLock is E0 45)
      {121, 0x7e},    // NumpadComma
      {122, 0x72},    // Lang1
      {123, 0x71},    // Lang2
      {124, 0x7d},    // IntlYen
      {125, 0xe05b},  // MetaLeft
      {126, 0xe05c},  // MetaRight
      {127, 0xe05d},  // ContextMenu
      {128, 0xe068},  // BrowserStop
      {131, 0xe008},  // Undo
      {133, 0xe018},  // Copy
      {135, 0xe00a},  // Paste
      {137, 0xe017},  // Cut
      {138, 0xe03b},  // Help
      {140, 0xe021},  // LaunchApp2
      {142, 0xe05f},  // Sleep
      {143, 0xe063},  // WakeUp
      {144, 0xe06b},  // LaunchApp1
      {155, 0xe06c},  // LaunchMail
      {156, 0xe066},  // BrowserFavorites
      {158, 0xe06a},  // BrowserBack
      {159, 0xe069},  // BrowserForward
      {161, 0xe02c},  // Eject
      {163, 0xe019},  // MediaTrackNext
      {164, 0xe022},  // MediaPlayPause
      {165, 0xe010},  // MediaTrackPrevious
      {166, 0xe024},  // MediaStop
      {172, 0xe032},  // BrowserHome
      {173, 0xe067},  // BrowserRefresh
      {183, 0x64},    // F13
      {184, 0x65},    // F14
      {185, 0x66},    // F15
      {186, 0x67},    // F16
      {187, 0x68},    // F17
      {188, 0x69},    // F18
      {189, 0x6a},    // F19
      {190, 0x6b},    // F20
      {191, 0x6c},    // F21
      {192, 0x6d},    // F22
      {193, 0x6e},    // F23
      {194, 0x76},    // F24
      {217, 0xe065},  // BrowserSearch
      {226, 0xe06d},  // MediaSelect
  };
  auto it = kTable.find(evdev);
  return it == kTable.end() ? -1 : it->second;
}

}  // namespace tether
