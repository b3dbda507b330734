// libwebrtc's process-wide switches in the loaded module, set by calling or writing what its
// symbol table names: the field-trial string, and the CPU core count libwebrtc caches. Internal to
// src/webrtc/: ConfigureWebRtc calls these with its lock held.
#pragma once

#include <string>

#include "tether/webrtc_tuning.h"
#include "webrtc/loaded_module.h"

namespace tether {

// Sets the module's field-trial string (webrtc::field_trial::InitFieldTrialsFromString) and reads
// it back (GetFieldTrialString) into `read_back`. The string is copied and kept for the life of the
// process: libwebrtc keeps the pointer, and its threads may read an earlier one at any time.
WebRtcOutcome SetFieldTrials(ModuleOpener& module, const std::string& trials,
                             std::string* read_back);

// Makes webrtc::CpuInfo::DetectNumberOfCores() answer `cores` (1..1024) from now on, by writing the
// function-local static it caches its answer in; `detected` receives the count it had detected.
// kSymbolNotFound (and the cache put back) when the function does not answer the value written.
WebRtcOutcome SetCoreCount(ModuleOpener& module, int cores, int* detected);

}  // namespace tether
