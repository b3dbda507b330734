// libwebrtc's field trials inside an already loaded WebRTC module.
//
// libwebrtc reads tuning switches ("field trials", e.g. WebRTC-ForceSendPlayoutDelay) from one
// process-wide string set by webrtc::field_trial::InitFieldTrialsFromString(). @roamhq/wrtc links
// libwebrtc statically and exposes no way to set it, so this finds that function in the module's
// own symbol table and calls it. Only for a module that is loaded in this process; the string must
// be set before the module creates the objects that read it (its first RTCPeerConnection).
#pragma once

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

const char* FieldTrialsResultName(FieldTrialsResult result);

}  // namespace tether
