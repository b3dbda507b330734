// libwebrtc's field trials inside an already loaded WebRTC module.
//
// libwebrtc reads tuning switches ("field trials", e.g. WebRTC-ForceSendPlayoutDelay) from one
// process-wide string set by webrtc::field_trial::InitFieldTrialsFromString(). @roamhq/wrtc links
// libwebrtc statically and exposes no way to set it, so this finds that function in the module's
// own symbol table and calls it. Only for a module that is loaded in this process; the string must
// be set before the module creates the objects that read it (its first RTCPeerConnection).
#pragma once

#include <cstdint>
#include <string>

namespace tether {

enum class FieldTrialsResult {
  kOk,
  kModuleNotLoaded,  // no loaded module's file name ends with the given suffix
  kSymbolNotFound,   // the module carries no symbol table with the function (stripped, other build)
  kModuleMismatch,   // the file on disk is not the one that was loaded (changed since)
  kUnsupported,      // no implementation for this platform
};

// Sets the field-trial string of the loaded module whose file name ends with `module_suffix`
// (e.g. "/wrtc.node"). `trials` is in libwebrtc's format ("Name/value/Name2/value2/"). The string
// is copied and kept for the life of the process (libwebrtc keeps the pointer). Thread: any, but
// call before the module starts its own threads to be sure they see it. `detail` says what failed.
FieldTrialsResult SetWebRtcFieldTrials(const std::string& module_suffix, const std::string& trials,
                                       std::string* detail);

// Reads the module's current field-trial string into `trials` ("" when none was set).
FieldTrialsResult GetWebRtcFieldTrials(const std::string& module_suffix, std::string* trials,
                                       std::string* detail);

// Makes libwebrtc's webrtc::CpuInfo::DetectNumberOfCores() answer `cores` from now on (its answer
// is cached process-wide; `detected` receives the real one). libwebrtc sizes its encoder threads by
// it (VP8 at 1080p: 1 thread below 3 cores). Call before the first peer connection, like the trials.
FieldTrialsResult SetWebRtcCoreCount(const std::string& module_suffix, int cores, int* detected,
                                     std::string* detail);

// Makes libwebrtc's VP8 encoder in the loaded module encode only the macroblocks that changed
// since its last reference frame (a libvpx active map per frame, see tether/vp8_active_map.h), by
// hooking three entries of the vtable of its LibvpxFacade (libwebrtc's only path to libvpx):
// codec_encode, codec_get_cx_data and codec_destroy. Every entry is checked to hold the function
// the symbol table names before it is replaced; the originals are called from the hooks. Stays on
// for the process; calling it again is a no-op. Call before the first peer connection. Maps are
// used only while the encoder writes profile 2 or 3 (no loop filter; see SetVp8Profile).
FieldTrialsResult EnableVp8ActiveMap(const std::string& module_suffix, std::string* detail);

// Makes every VP8 encoder of libwebrtc in the loaded module write bitstream profile `profile`
// (0-3; RFC 6386 9.1: 1-3 use bilinear prediction, 2-3 have no loop filter, 3 whole-pixel motion
// only), through the same hooks (installed if not yet). libwebrtc always asks for profile 0. -1
// leaves libwebrtc's choice to frames encoded from then on. Call before the first peer connection.
FieldTrialsResult SetVp8Profile(const std::string& module_suffix, int profile, std::string* detail);

// Gives libwebrtc's VP8 encoders created from now on Tether's libvpx (`own`; false: the module's
// again): libvpx 1.12 with Tether's patches (native/libvpx/, built by scripts/build-libvpx.mjs and
// linked into this addon), whose encoder codes the macroblocks an active map marks inactive
// without mode search. Hooks codec_enc_init in the same vtable (installed if not yet); needs the
// module's libvpx to be 1.12 as well (libwebrtc's control calls go through its front end). Call
// before the first peer connection.
FieldTrialsResult SetVp8Encoder(const std::string& module_suffix, bool own, std::string* detail);

// Replaces the "min transmit bitrate" libwebrtc gives every video send stream of the loaded
// module from now on (`bps` >= 0; -1 gives libwebrtc's back): libwebrtc pads a screen-share stream
// up to it (100 kbit/s) even when nothing changes on the screen, a steady stream of padding packets
// that keeps three of its threads busy. Hooks VideoSendStreamImpl::OnEncoderConfigurationChanged in
// the class's vtable (each entry checked to hold the function the symbol table names). Applies to
// streams configured after the call: call before the first peer connection.
FieldTrialsResult SetMinTransmitBitrate(const std::string& module_suffix, int bps,
                                        std::string* detail);

struct MinTransmitBitrateStats {
  bool hooked = false;
  int bps = -1;            // the value set (-1: libwebrtc's)
  uint64_t calls = 0;      // stream configurations seen
  int libwebrtc_max_bps = -1;  // the highest floor libwebrtc asked for (a stopped track: 0)
};
MinTransmitBitrateStats GetMinTransmitBitrateStats();

struct Vp8ActiveMapStats {
  bool hooked = false;   // the hooks are in place
  bool enabled = false;  // and maps are set
  uint64_t frames = 0;         // VP8 frames the hook saw
  uint64_t mapped_frames = 0;  // of them, encoded with a map (the others: every macroblock)
  uint64_t active_mbs = 0;     // macroblocks marked active in the mapped frames
  uint64_t total_mbs = 0;      // macroblocks in all frames seen
  uint64_t errors = 0;         // maps libvpx refused (then the frame is encoded whole)
  uint64_t compare_ns = 0;     // time spent comparing frames and setting maps
  uint64_t encode_ns = 0;      // time in libvpx's vpx_codec_encode for the frames seen
  int last_q = -1;             // quantizer index (0-127) of the last encoded frame
  uint64_t pending_mbs = 0;    // after it, macroblocks still waiting for fine frames
  int profile = -1;            // the profile set by SetVp8Profile (-1: libwebrtc's)
  uint64_t profile_sets = 0;   // times the hook gave an encoder that profile again
  int last_version = -1;       // the version field of the last VP8 frame encoded (-1: none yet)
  bool own_encoder = false;    // SetVp8Encoder(own): new encoders get Tether's libvpx
  uint64_t own_encoders = 0;   // encoders created with Tether's libvpx
};

Vp8ActiveMapStats GetVp8ActiveMapStats();

const char* FieldTrialsResultName(FieldTrialsResult result);

}  // namespace tether
