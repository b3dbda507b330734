#include "webrtc/field_trials.h"

#include <vector>

namespace tether {

namespace {

constexpr const char kInitTrials[] = "_ZN6webrtc11field_trial25InitFieldTrialsFromStringEPKc";
constexpr const char kGetTrials[] = "_ZN6webrtc11field_trial19GetFieldTrialStringEv";
// int webrtc::CpuInfo::DetectNumberOfCores() and the function-local static it caches its answer in.
constexpr const char kDetectCores[] = "_ZN6webrtc7CpuInfo19DetectNumberOfCoresEv";
constexpr const char kCoresCache[] = "_ZZN6webrtc7CpuInfo19DetectNumberOfCoresEvE12logical_cpus";

using Kind = SymbolQuery::Kind;

}  // namespace

WebRtcOutcome SetFieldTrials(ModuleOpener& module, const std::string& trials,
                             std::string* read_back) {
  std::vector<ResolvedSymbol> fns;
  WebRtcOutcome r =
      module.Resolve({{kInitTrials, Kind::kFunction}, {kGetTrials, Kind::kFunction}}, &fns);
  if (!r.ok()) return r;
  const auto* kept = new std::string(trials);  // for the process: a few bytes, once per process
  reinterpret_cast<void (*)(const char*)>(fns[0].address)(kept->c_str());
  const char* now = reinterpret_cast<const char* (*)()>(fns[1].address)();
  *read_back = now == nullptr ? "" : now;
  return r;
}

WebRtcOutcome SetCoreCount(ModuleOpener& module, int cores, int* detected) {
  std::vector<ResolvedSymbol> syms;
  WebRtcOutcome r = module.Resolve(
      {{kDetectCores, Kind::kFunction}, {kCoresCache, Kind::kObject, sizeof(int)}}, &syms);
  if (!r.ok()) return r;
  auto* detect = reinterpret_cast<int (*)()>(syms[0].address);
  auto* cache = static_cast<volatile int*>(syms[1].address);
  // The first call fills the cache (under its own guard); later calls only read it, so once
  // filled, the value written here is what every later reader in the module sees.
  *detected = detect();
  *cache = cores;
  if (detect() != cores) {
    *cache = *detected;
    return WebRtcOutcome::Fail(WebRtcResult::kSymbolNotFound,
                               "webrtc::CpuInfo::DetectNumberOfCores() does not read its cache");
  }
  return r;
}

}  // namespace tether
