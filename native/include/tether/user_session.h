// What the support app asks the operating system about the signed-in user: the language of the
// user interface, a file only that user may open, and the console the app was started with.
// Defined per platform; on Linux the agent does all three itself (LC_ALL/LC_MESSAGES/LANG, chmod
// 0600, the terminal it was started from), so there they answer kUnsupportedPlatform.
#pragma once

#include <string>

#include "tether/status.h"

namespace tether {

// Windows: the user's UI language (GetUserDefaultUILanguage: the display language chosen in
// Settings, not the regional format), as a BCP 47 tag, e.g. "de-DE". Thread: any.
Status ReadUiLanguage(std::string* tag);

// Windows: replaces the DACL of `path` (UTF-8) by a protected one (no inherited entries) that
// grants full control to the user this process runs as, and to nobody else (administrators can
// still take ownership, as always). Errors: kInternal naming the step that failed. Thread: any.
Status RestrictToOwner(const std::string& path);

// Windows: hides the console window if this process is the only one attached to it (it was
// started from Explorer, not from a command prompt, so the console is its own); *hidden tells
// whether it did. Standard output keeps working. Thread: any.
Status HideOwnConsole(bool* hidden);

}  // namespace tether
