// The padding floor of libwebrtc's video send streams in the loaded module. libwebrtc pads a
// screen-share stream up to its "min transmit bitrate" (100 kbit/s from WebRtcVideoChannel) however
// still the screen is, and no API of @roamhq/wrtc sets it. The value reaches
// VideoSendStreamImpl::OnEncoderConfigurationChanged(streams, is_svc, content_type,
// min_transmit_bitrate_bps); a hook in the class's vtable replaces the last argument. Internal to
// src/webrtc/: ConfigureWebRtc calls SetMinTransmitBitrate with its lock held; the hook runs on
// libwebrtc's encoder queue.
#pragma once

#include "tether/webrtc_tuning.h"
#include "webrtc/loaded_module.h"

namespace tether {

// The floor for streams configured from now on: `bps` 0..1e9, -1: libwebrtc's. Installs the hook
// (once per process) if not yet.
WebRtcOutcome SetMinTransmitBitrate(ModuleOpener& module, int bps);

// The counters (atomics, no lock). Thread: any.
SendStreamStats GetSendStreamStats();

}  // namespace tether
