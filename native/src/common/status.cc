#include "tether/status.h"

namespace tether {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kClosed:
      return "ERR_CLOSED";
    case ErrorCode::kNoDisplay:
      return "ERR_NO_DISPLAY";
    case ErrorCode::kNoXShm:
      return "ERR_NO_XSHM";
    case ErrorCode::kNoExtension:
      return "ERR_NO_EXTENSION";
    case ErrorCode::kBadArgument:
      return "ERR_BAD_ARGUMENT";
    case ErrorCode::kUnsupportedPlatform:
      return "ERR_UNSUPPORTED_PLATFORM";
    case ErrorCode::kUnsupportedFormat:
      return "ERR_UNSUPPORTED_FORMAT";
    case ErrorCode::kBusy:
      return "ERR_BUSY";
    case ErrorCode::kInternal:
      return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

}  // namespace tether
