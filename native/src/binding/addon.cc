// Module entry: exports Capturer, Injector and what the loader reports.
#include <napi.h>

#include "binding/capturer_wrap.h"
#include "binding/errors.h"
#include "binding/injector_wrap.h"
#include "tether/screen_capturer.h"
#include "tether/webrtc_field_trials.h"

namespace tether {

namespace {

// {result, detail}: what every WebRTC-module call answers.
Napi::Object ResultObject(Napi::Env env, FieldTrialsResult r, const std::string& detail) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("result", FieldTrialsResultName(r));
  out.Set("detail", detail);
  return out;
}

// setWebRtcFieldTrials(moduleSuffix, trials) -> {result, detail}
Napi::Value SetFieldTrials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    throw MakeError(env, ErrorCode::kBadArgument,
                    "setWebRtcFieldTrials(moduleSuffix, trials) takes two strings");
  std::string detail;
  const FieldTrialsResult r =
      SetWebRtcFieldTrials(info[0].As<Napi::String>(), info[1].As<Napi::String>(), &detail);
  return ResultObject(env, r, detail);
}

// webRtcFieldTrials(moduleSuffix) -> {result, detail, trials?}
Napi::Value GetFieldTrials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    throw MakeError(env, ErrorCode::kBadArgument, "webRtcFieldTrials(moduleSuffix) takes a string");
  std::string detail;
  std::string trials;
  const FieldTrialsResult r = GetWebRtcFieldTrials(info[0].As<Napi::String>(), &trials, &detail);
  Napi::Object out = ResultObject(env, r, detail);
  if (r == FieldTrialsResult::kOk) out.Set("trials", trials);
  return out;
}

// setWebRtcCoreCount(moduleSuffix, cores) -> {result, detail, detected}
Napi::Value SetCoreCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    throw MakeError(env, ErrorCode::kBadArgument,
                    "setWebRtcCoreCount(moduleSuffix, cores) takes a string and a number");
  const double cores = info[1].As<Napi::Number>().DoubleValue();
  if (!(cores >= 1 && cores <= 1024) || cores != static_cast<double>(static_cast<int>(cores)))
    throw MakeError(env, ErrorCode::kBadArgument,
                    "setWebRtcCoreCount: cores must be a whole number from 1 to 1024");
  std::string detail;
  int detected = 0;
  const FieldTrialsResult r = SetWebRtcCoreCount(info[0].As<Napi::String>(),
                                                 static_cast<int>(cores), &detected, &detail);
  Napi::Object out = ResultObject(env, r, detail);
  if (r == FieldTrialsResult::kOk) out.Set("detected", detected);
  return out;
}

// enableVp8ActiveMap(moduleSuffix) -> {result, detail}
Napi::Value EnableActiveMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    throw MakeError(env, ErrorCode::kBadArgument, "enableVp8ActiveMap(moduleSuffix) takes a string");
  std::string detail;
  const FieldTrialsResult r = EnableVp8ActiveMap(info[0].As<Napi::String>(), &detail);
  return ResultObject(env, r, detail);
}

// setVp8Profile(moduleSuffix, profile) -> {result, detail}
Napi::Value SetProfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    throw MakeError(env, ErrorCode::kBadArgument,
                    "setVp8Profile(moduleSuffix, profile) takes a string and a number");
  const double profile = info[1].As<Napi::Number>().DoubleValue();
  if (!(profile == -1 || profile == 0 || profile == 1 || profile == 2 || profile == 3))
    throw MakeError(env, ErrorCode::kBadArgument,
                    "setVp8Profile: profile must be 0, 1, 2 or 3 (-1: libwebrtc's)");
  std::string detail;
  const FieldTrialsResult r =
      SetVp8Profile(info[0].As<Napi::String>(), static_cast<int>(profile), &detail);
  return ResultObject(env, r, detail);
}

// setVp8Encoder(moduleSuffix, encoder) -> {result, detail}; encoder "tether" or "libwebrtc"
Napi::Value SetEncoder(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    throw MakeError(env, ErrorCode::kBadArgument,
                    "setVp8Encoder(moduleSuffix, encoder) takes two strings");
  const std::string encoder = info[1].As<Napi::String>();
  if (encoder != "tether" && encoder != "libwebrtc")
    throw MakeError(env, ErrorCode::kBadArgument,
                    "setVp8Encoder: encoder must be \"tether\" or \"libwebrtc\"");
  std::string detail;
  const FieldTrialsResult r = SetVp8Encoder(info[0].As<Napi::String>(), encoder == "tether", &detail);
  return ResultObject(env, r, detail);
}

// setMinTransmitBitrate(moduleSuffix, bps) -> {result, detail}
Napi::Value SetMinTransmit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    throw MakeError(env, ErrorCode::kBadArgument,
                    "setMinTransmitBitrate(moduleSuffix, bps) takes a string and a number");
  const double bps = info[1].As<Napi::Number>().DoubleValue();
  if (!(bps == -1 || (bps >= 0 && bps <= 1e9 && bps == static_cast<double>(static_cast<int>(bps)))))
    throw MakeError(env, ErrorCode::kBadArgument,
                    "setMinTransmitBitrate: bps must be a whole number from 0 to 1e9 (-1: libwebrtc's)");
  std::string detail;
  const FieldTrialsResult r =
      SetMinTransmitBitrate(info[0].As<Napi::String>(), static_cast<int>(bps), &detail);
  return ResultObject(env, r, detail);
}

// minTransmitBitrateStats() -> {hooked, bps, calls, libwebrtcMaxBps}
Napi::Value MinTransmitStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const MinTransmitBitrateStats s = GetMinTransmitBitrateStats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("hooked", s.hooked);
  out.Set("bps", s.bps);
  out.Set("calls", static_cast<double>(s.calls));
  out.Set("libwebrtcMaxBps", s.libwebrtc_max_bps);
  return out;
}

// vp8ActiveMapStats() -> {hooked, enabled, frames, mappedFrames, activeMbs, totalMbs, errors,
//                        compareMs, encodeMs, lastQuantizer, pendingMbs, profile, profileSets,
//                        lastVersion, encoder, tetherEncoders}
Napi::Value ActiveMapStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Vp8ActiveMapStats s = GetVp8ActiveMapStats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("hooked", s.hooked);
  out.Set("enabled", s.enabled);
  out.Set("frames", static_cast<double>(s.frames));
  out.Set("mappedFrames", static_cast<double>(s.mapped_frames));
  out.Set("activeMbs", static_cast<double>(s.active_mbs));
  out.Set("totalMbs", static_cast<double>(s.total_mbs));
  out.Set("errors", static_cast<double>(s.errors));
  out.Set("compareMs", static_cast<double>(s.compare_ns) / 1e6);
  out.Set("encodeMs", static_cast<double>(s.encode_ns) / 1e6);
  out.Set("lastQuantizer", s.last_q);
  out.Set("pendingMbs", static_cast<double>(s.pending_mbs));
  out.Set("profile", s.profile);
  out.Set("profileSets", static_cast<double>(s.profile_sets));
  out.Set("lastVersion", s.last_version);
  out.Set("encoder", s.own_encoder ? "tether" : "libwebrtc");
  out.Set("tetherEncoders", static_cast<double>(s.own_encoders));
  return out;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Capturer", CapturerWrap::Define(env));
  exports.Set("Injector", InjectorWrap::Define(env));
  exports.Set("backend", Napi::String::New(env, PlatformBackendName()));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  exports.Set("setWebRtcFieldTrials",
              Napi::Function::New(env, SetFieldTrials, "setWebRtcFieldTrials"));
  exports.Set("webRtcFieldTrials", Napi::Function::New(env, GetFieldTrials, "webRtcFieldTrials"));
  exports.Set("setWebRtcCoreCount", Napi::Function::New(env, SetCoreCount, "setWebRtcCoreCount"));
  exports.Set("enableVp8ActiveMap", Napi::Function::New(env, EnableActiveMap, "enableVp8ActiveMap"));
  exports.Set("setMinTransmitBitrate",
              Napi::Function::New(env, SetMinTransmit, "setMinTransmitBitrate"));
  exports.Set("minTransmitBitrateStats",
              Napi::Function::New(env, MinTransmitStats, "minTransmitBitrateStats"));
  exports.Set("setVp8Profile", Napi::Function::New(env, SetProfile, "setVp8Profile"));
  exports.Set("setVp8Encoder", Napi::Function::New(env, SetEncoder, "setVp8Encoder"));
  exports.Set("vp8ActiveMapStats", Napi::Function::New(env, ActiveMapStats, "vp8ActiveMapStats"));
  return exports;
}

}  // namespace tether

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return tether::Init(env, exports);
}

NODE_API_MODULE(tether_native, InitModule)
