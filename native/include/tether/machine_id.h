// The operating system's own identifier of this computer, for the agent's machine fingerprint
// (src/agent/identity.ts derives the fingerprint; the raw id never leaves the computer).
// Defined per platform.
#pragma once

#include <string>

#include "tether/status.h"

namespace tether {

// Windows: the machine GUID Windows setup writes once per installation
// (HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid, read from the 64-bit registry view), as
// stored, e.g. "1b4e28ba-2fa1-11d2-883f-0016d3cca427". Errors: kInternal when it cannot be read.
// Other platforms: kUnsupportedPlatform (on Linux the agent reads /etc/machine-id itself).
// Thread: any.
Status ReadMachineId(std::string* id);

}  // namespace tether
