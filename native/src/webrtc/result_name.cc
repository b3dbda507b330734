// The names of WebRTC tuning outcomes, shared by the tuning (tuning.cc) and the builds without it
// (tuning_unavailable.cc).
#include "tether/webrtc_tuning.h"

namespace tether {

const char* WebRtcResultName(WebRtcResult result) {
  switch (result) {
    case WebRtcResult::kOk:
      return "ok";
    case WebRtcResult::kModuleNotLoaded:
      return "module-not-loaded";
    case WebRtcResult::kSymbolNotFound:
      return "symbol-not-found";
    case WebRtcResult::kModuleMismatch:
      return "module-mismatch";
    case WebRtcResult::kUnsupported:
      return "unsupported-platform";
  }
  return "unknown";
}

}  // namespace tether
