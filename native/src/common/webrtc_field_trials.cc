#include "tether/webrtc_field_trials.h"

namespace tether {

const char* FieldTrialsResultName(FieldTrialsResult result) {
  switch (result) {
    case FieldTrialsResult::kOk:
      return "ok";
    case FieldTrialsResult::kModuleNotLoaded:
      return "module-not-loaded";
    case FieldTrialsResult::kSymbolNotFound:
      return "symbol-not-found";
    case FieldTrialsResult::kModuleMismatch:
      return "module-mismatch";
    case FieldTrialsResult::kUnsupported:
      return "unsupported-platform";
  }
  return "unknown";
}

}  // namespace tether
