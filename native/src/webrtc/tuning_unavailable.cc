// The WebRTC tuning's entry for builds without it (Windows: the hooks reach into an ELF module and
// are built for Linux only, see native/INTEGRATION.md). Every setting answers kUnsupported and
// libwebrtc keeps its own behaviour; the counters stay zero. CMake compiles this file instead of
// tuning.cc and the hook files.
#include "tether/webrtc_tuning.h"

namespace tether {

WebRtcTuningResult ConfigureWebRtc(const std::string&, const WebRtcTuning& tuning) {
  const WebRtcOutcome no = WebRtcOutcome::Fail(
      WebRtcResult::kUnsupported,
      "the WebRTC tuning is built for Linux only: this build streams with libwebrtc's defaults");
  WebRtcTuningResult out;
  if (tuning.trials) out.trials = no;
  if (tuning.vp8_active_map) out.vp8_active_map = no;
  if (tuning.vp8_profile) out.vp8_profile = no;
  if (tuning.vp8_encoder) out.vp8_encoder = no;
  if (tuning.min_transmit_bps) out.min_transmit_bps = no;
  if (tuning.cores) out.cores = no;
  return out;
}

WebRtcStats GetWebRtcStats() {
  return WebRtcStats{};
}

// No encoder hooks: libwebrtc sends a key frame only when the viewer asks for one.
bool RequestKeyFrame() {
  return false;
}

}  // namespace tether
