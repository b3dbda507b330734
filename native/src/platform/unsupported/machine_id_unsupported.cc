#include "tether/machine_id.h"

namespace tether {

Status ReadMachineId(std::string* id) {
  id->clear();
  return Status(ErrorCode::kUnsupportedPlatform, "no machine id on this platform yet");
}

}  // namespace tether
