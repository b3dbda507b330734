// The Napi face of the WebRTC tuning (tether/webrtc_tuning.h): configureWebRtc and webRtcStats.
#pragma once

#include <napi.h>

namespace tether {

// Adds to `exports`:
//   configureWebRtc(moduleSuffix, settings) -> { <setting>: {result, detail} } for each setting
//     given (settings: trials, vp8ActiveMap, vp8Profile, vp8Encoder, minTransmitBps, cores; an
//     undefined one counts as absent). `trials` adds readBack, `cores` adds detected, when ok.
//     The one layer that validates the values: any wrong key, type or range throws
//     ERR_BAD_ARGUMENT, with `setting` naming the key, before anything is applied.
//   webRtcStats() -> { vp8: {...}, sendStream: {...} }: what the hooks did so far (no lock).
// Both run on the JS thread; configureWebRtc maps wrtc.node's file for the call.
void ExportWebRtc(Napi::Env env, Napi::Object exports);

}  // namespace tether
