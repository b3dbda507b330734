// No way into a loaded module on this platform yet: every WebRTC setting answers kUnsupported and
// libwebrtc keeps its own behaviour.
#include "webrtc/loaded_module.h"

namespace tether {

WebRtcResult OpenLoadedModule(const std::string&, std::unique_ptr<LoadedModule>* out,
                              std::string* detail) {
  out->reset();
  *detail = "reaching into a loaded WebRTC module is only implemented for Linux";
  return WebRtcResult::kUnsupported;
}

}  // namespace tether
