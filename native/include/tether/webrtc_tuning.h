// Tuning libwebrtc inside an already loaded WebRTC module (@roamhq/wrtc's wrtc.node), which links
// libwebrtc and libvpx statically and offers no API for any of this. One entry sets every setting
// given and answers per setting; one call reports what the hooks have done. How each setting
// reaches into the module, and what to check when wrtc or libvpx is upgraded:
// native/INTEGRATION.md.
//
// Every setting fails on its own and fails safe: a module that cannot be changed (not loaded, a
// stripped or other build, a changed layout) keeps libwebrtc's own behaviour for that setting, and
// the answer says why. Settings are process-wide and stay for the life of the process; apply them
// before the module creates its first RTCPeerConnection, so that every object reading them sees
// them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tether {

// What applying one setting answered. Stable: the binding hands the names to JS.
enum class WebRtcResult {
  kOk,
  kModuleNotLoaded,  // "module-not-loaded": no loaded module's path ends with the given suffix
  kSymbolNotFound,   // "symbol-not-found": the symbols or the vtable layout are not the known ones
  kModuleMismatch,   // "module-mismatch": the file changed since it was loaded, another libvpx, or
                     // a page that cannot be made writable
  kUnsupported,      // "unsupported-platform": no implementation for this platform
};

// "ok", "module-not-loaded", ... Never null.
const char* WebRtcResultName(WebRtcResult result);

// One setting's answer: `detail` says in one line why it failed ("" when kOk).
struct WebRtcOutcome {
  WebRtcResult result = WebRtcResult::kOk;
  std::string detail;

  bool ok() const { return result == WebRtcResult::kOk; }
  static WebRtcOutcome Fail(WebRtcResult result, std::string detail) {
    return WebRtcOutcome{result, std::move(detail)};
  }
};

// Which libvpx libwebrtc's VP8 encoders created from now on run on.
enum class Vp8Encoder {
  kLibwebrtc,  // the module's own
  kTether,     // Tether's (libvpx 1.12 + native/libvpx/*.patch, linked into this addon)
};

// The settings; an absent one is left as it is. The values are already checked (the binding is the
// one layer that validates them: native/src/binding/webrtc_wrap.cc); the ranges below are
// preconditions.
struct WebRtcTuning {
  // libwebrtc's field-trial string, "Name/value/" pairs ("" = none). Kept for the process.
  std::optional<std::string> trials;
  // true: VP8 encodes only the changed macroblocks (an active map per frame; used only while the
  // encoder writes profile 2 or 3, see vp8_profile); false: whole frames.
  std::optional<bool> vp8_active_map;
  // The VP8 bitstream profile every encoder writes: 0-3 (RFC 6386 9.1), -1: libwebrtc's (0).
  std::optional<int> vp8_profile;
  // The libvpx for VP8 encoders created from now on.
  std::optional<Vp8Encoder> vp8_encoder;
  // The "min transmit bitrate" (padding floor) of video send streams configured from now on,
  // bits/s: 0..1e9, -1: libwebrtc's (100 kbit/s for a screen share).
  std::optional<int> min_transmit_bps;
  // What libwebrtc's cached CPU core count answers from now on: 1..1024 (it sizes the VP8 encoder
  // threads by it).
  std::optional<int> cores;
};

// One outcome per setting given, in WebRtcTuning's order.
struct WebRtcTuningResult {
  std::optional<WebRtcOutcome> trials;
  std::string trials_read_back;  // trials kOk: the module's string read back after setting it
  std::optional<WebRtcOutcome> vp8_active_map;
  std::optional<WebRtcOutcome> vp8_profile;
  std::optional<WebRtcOutcome> vp8_encoder;
  std::optional<WebRtcOutcome> min_transmit_bps;
  std::optional<WebRtcOutcome> cores;
  int detected_cores = 0;  // cores kOk: the count libwebrtc had detected itself
};

// Applies `tuning` to the loaded module whose path ends with `module_suffix` (e.g. "/wrtc.node"),
// one setting after another in WebRtcTuning's order; the module is opened once, and only if a
// setting needs it (hooks installed by an earlier call are not looked up again). Thread: any; calls
// are serialized. Never throws.
WebRtcTuningResult ConfigureWebRtc(const std::string& module_suffix, const WebRtcTuning& tuning);

// What the VP8 encoder hooks have done in this process (all zero until they are installed).
struct Vp8EncoderStats {
  bool hooked = false;         // the hooks are in place
  bool active_map = false;     // and active maps are set
  uint64_t frames = 0;         // VP8 frames the hook saw
  uint64_t mapped_frames = 0;  // of them, encoded with a map (the others: every macroblock)
  uint64_t active_mbs = 0;     // macroblocks marked active in the mapped frames
  uint64_t total_mbs = 0;      // macroblocks in all frames seen
  uint64_t errors = 0;         // maps or profiles libvpx refused (then: whole frame, old profile)
  uint64_t compare_ns = 0;     // time spent comparing frames and setting maps
  uint64_t encode_ns = 0;      // time in libvpx's encode call for the frames seen
  int last_q = -1;             // quantizer index (0-127) of the last encoded frame
  uint64_t pending_mbs = 0;    // after it, macroblocks still waiting for fine frames
  int profile = -1;            // the profile set (-1: libwebrtc's)
  uint64_t profile_sets = 0;   // times the hook gave an encoder that profile again
  int last_version = -1;       // the version field of the last VP8 frame encoded (-1: none yet)
  Vp8Encoder encoder = Vp8Encoder::kLibwebrtc;  // what new encoders get
  uint64_t tether_encoders = 0;                 // encoders created with Tether's libvpx
  uint64_t key_requests = 0;                    // key frames asked for (RequestKeyFrame)
  uint64_t forced_key_frames = 0;               // frames the encoders made key frames for them
};

// What the send-stream hook (the padding floor) has done in this process.
struct SendStreamStats {
  bool hooked = false;
  int min_transmit_bps = -1;   // the value set (-1: libwebrtc's)
  uint64_t calls = 0;          // stream configurations seen
  int libwebrtc_max_bps = -1;  // the highest floor libwebrtc asked for (a stopped track: 0)
};

// Everything the tuning's hooks count, in one snapshot.
struct WebRtcStats {
  Vp8EncoderStats vp8;
  SendStreamStats send_stream;
};

// A snapshot of the counters (atomics, no lock): cheap enough for every trace line. Thread: any.
WebRtcStats GetWebRtcStats();

// Asks every VP8 encoder of the module for a key frame with its next frame: after the path to the
// viewer was broken (a network change), the frames sent meanwhile are lost and the viewer can
// decode nothing until one arrives. False where the VP8 hooks are not installed (then libwebrtc
// sends one only when the viewer asks). Thread: any.
bool RequestKeyFrame();

}  // namespace tether
