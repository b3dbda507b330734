// VP8 encoding inside the loaded module, through the vtable of libwebrtc's LibvpxFacade (its only
// path to libvpx). Hooks on codec_enc_init, codec_encode, codec_get_cx_data and codec_destroy give
// every VP8 encoder an active map per frame (tether/vp8_active_map.h), the bitstream profile
// wanted, and, for encoders created after SetVp8Encoder(kTether), Tether's libvpx. The hooks are
// installed once per process, by the first of these calls, and stay: each call then only changes a
// setting the hooks read before the next frame. Internal to src/webrtc/: ConfigureWebRtc calls
// these with its lock held; the hooks run on libwebrtc's encoder threads.
#pragma once

#include "tether/webrtc_tuning.h"
#include "webrtc/loaded_module.h"

namespace tether {

// Turns active maps on or off (installing the hooks if not yet). Maps are used only while the
// encoder writes profile 2 or 3: with the loop filter (0, 1) frames are encoded whole.
WebRtcOutcome SetVp8ActiveMap(ModuleOpener& module, bool on);

// The profile (0-3; -1: libwebrtc's) every VP8 encoder gets before its next frame. Copies libvpx's
// encoder configuration, so it needs the module's libvpx to be 1.12 (kModuleMismatch otherwise).
WebRtcOutcome SetVp8Profile(ModuleOpener& module, int profile);

// Which libvpx VP8 encoders created from now on get; encoders created before keep theirs. Needs
// the module's libvpx to be 1.12: libwebrtc's other calls go through its front end.
WebRtcOutcome SetVp8Encoder(ModuleOpener& module, Vp8Encoder encoder);

// Every VP8 encoder makes its next frame a key frame (false: the hooks are not installed, nothing
// asked). Thread: any.
bool RequestVp8KeyFrame();

// The counters (atomics, no lock). Thread: any.
Vp8EncoderStats GetVp8EncoderStats();

}  // namespace tether
