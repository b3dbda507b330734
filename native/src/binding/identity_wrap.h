// The Napi face of tether/machine_id.h.
#pragma once

#include <napi.h>

namespace tether {

// Adds machineId() -> string to `exports`: the OS's identifier of this computer (Windows: the
// machine GUID); throws with the Status code (ERR_UNSUPPORTED_PLATFORM on Linux). JS thread.
void ExportIdentity(Napi::Env env, Napi::Object exports);

}  // namespace tether
