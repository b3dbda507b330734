#include "tether/machine_id.h"

namespace tether {

Status ReadMachineId(std::string* id) {
  id->clear();
  return Status(ErrorCode::kUnsupportedPlatform,
                "on Linux the machine id is /etc/machine-id, which the agent reads itself");
}

}  // namespace tether
