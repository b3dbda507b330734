// The one entry of the WebRTC tuning: each setting given, in a fixed order, each on its own.
#include <mutex>

#include "tether/webrtc_tuning.h"
#include "webrtc/field_trials.h"
#include "webrtc/loaded_module.h"
#include "webrtc/send_stream_hook.h"
#include "webrtc/vp8_encoder_hooks.h"

namespace tether {

WebRtcTuningResult ConfigureWebRtc(const std::string& module_suffix, const WebRtcTuning& tuning) {
  // One configuration at a time: installing a hook is a sequence of checks and writes.
  static std::mutex* const lock = new std::mutex();  // for the process, like the hooks
  std::lock_guard<std::mutex> guard(*lock);
  ModuleOpener module(module_suffix);
  WebRtcTuningResult out;
  if (tuning.trials) out.trials = SetFieldTrials(module, *tuning.trials, &out.trials_read_back);
  if (tuning.vp8_active_map) out.vp8_active_map = SetVp8ActiveMap(module, *tuning.vp8_active_map);
  if (tuning.vp8_profile) out.vp8_profile = SetVp8Profile(module, *tuning.vp8_profile);
  if (tuning.vp8_encoder) out.vp8_encoder = SetVp8Encoder(module, *tuning.vp8_encoder);
  if (tuning.min_transmit_bps)
    out.min_transmit_bps = SetMinTransmitBitrate(module, *tuning.min_transmit_bps);
  if (tuning.cores) out.cores = SetCoreCount(module, *tuning.cores, &out.detected_cores);
  return out;
}

bool RequestKeyFrame() {
  return RequestVp8KeyFrame();
}

WebRtcStats GetWebRtcStats() {
  return WebRtcStats{GetVp8EncoderStats(), GetSendStreamStats()};
}

}  // namespace tether
