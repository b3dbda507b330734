// The Napi face of tether/user_session.h.
#pragma once

#include <napi.h>

namespace tether {

// Adds to `exports` (JS thread; each throws with the Status code, ERR_UNSUPPORTED_PLATFORM on
// Linux): uiLanguage() -> "de-DE"; restrictToOwner(path) -> undefined; hideOwnConsole() -> bool.
void ExportUserSession(Napi::Env env, Napi::Object exports);

}  // namespace tether
