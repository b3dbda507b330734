#include "binding/webrtc_wrap.h"

#include <cmath>
#include <optional>
#include <string>

#include "binding/errors.h"
#include "tether/webrtc_tuning.h"

namespace tether {

namespace {

// The settings object's keys, in WebRtcTuning's order.
constexpr const char kSettings[] =
    "trials, vp8ActiveMap, vp8Profile, vp8Encoder, minTransmitBps, cores";

// `value` for a message: strings quoted (control characters escaped), anything else as JS's
// String().
std::string Show(const Napi::Value& value) {
  if (value.IsSymbol()) return "a symbol";
  if (!value.IsString()) return value.ToString().Utf8Value();
  std::string out = "\"";
  for (const unsigned char c : value.As<Napi::String>().Utf8Value()) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += c == '\n' ? "\\n" : std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

[[noreturn]] void Reject(const Napi::Env& env, const std::string& key, const std::string& why,
                         const Napi::Value& got) {
  Napi::Error error = MakeError(env, ErrorCode::kBadArgument,
                                "configureWebRtc: " + key + ": " + why + ": " + Show(got));
  error.Set("setting", Napi::String::New(env, key));
  throw error;
}

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// libwebrtc's field-trial format: "Name/value/" pairs. A name starts with a letter or a digit and
// holds letters, digits, '_', '.' and '-'; a value holds no '/', space or control character.
bool IsFieldTrialString(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    if (!IsAsciiAlnum(s[i])) return false;
    while (i < s.size() && (IsAsciiAlnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-')) ++i;
    if (i == s.size() || s[i++] != '/') return false;
    for (; i < s.size() && s[i] != '/'; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c <= 0x20 || c == 0x7f) return false;
    }
    if (i++ == s.size()) return false;
  }
  return true;
}

// A whole number in [lo, hi], or `own` (libwebrtc's own value) when there is one.
int WholeNumber(const Napi::Env& env, const std::string& key, const Napi::Value& v, double lo,
                double hi, std::optional<double> own, const char* why) {
  if (!v.IsNumber()) Reject(env, key, why, v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!((own && d == *own) || (d >= lo && d <= hi && d == std::floor(d)))) Reject(env, key, why, v);
  return static_cast<int>(d);
}

// Reads and checks every setting given; throws before anything is applied.
WebRtcTuning ReadTuning(const Napi::Env& env, const Napi::Object& settings) {
  WebRtcTuning t;
  const Napi::Array keys = settings.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    const Napi::Value v = settings.Get(key);
    if (v.IsUndefined()) continue;
    if (key == "trials") {
      if (!v.IsString() || !IsFieldTrialString(v.As<Napi::String>().Utf8Value()))
        Reject(env, key, "not a WebRTC field-trial string (\"Name/value/\" pairs)", v);
      t.trials = v.As<Napi::String>().Utf8Value();
    } else if (key == "vp8ActiveMap") {
      if (!v.IsBoolean()) Reject(env, key, "not true or false", v);
      t.vp8_active_map = v.As<Napi::Boolean>().Value();
    } else if (key == "vp8Profile") {
      t.vp8_profile =
          WholeNumber(env, key, v, 0, 3, -1, "not a VP8 profile (0, 1, 2 or 3; -1: libwebrtc's)");
    } else if (key == "vp8Encoder") {
      const std::string e = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
      if (e != "tether" && e != "libwebrtc")
        Reject(env, key, "not a VP8 encoder (\"tether\" or \"libwebrtc\")", v);
      t.vp8_encoder = e == "tether" ? Vp8Encoder::kTether : Vp8Encoder::kLibwebrtc;
    } else if (key == "minTransmitBps") {
      t.min_transmit_bps =
          WholeNumber(env, key, v, 0, 1e9, -1,
                      "not a bitrate (a whole number of bits/s from 0 to 1e9; -1: libwebrtc's)");
    } else if (key == "cores") {
      t.cores = WholeNumber(env, key, v, 1, 1024, std::nullopt,
                            "not a core count (a whole number from 1 to 1024)");
    } else {
      Reject(env, key, std::string("not a WebRTC setting (") + kSettings + ")", v);
    }
  }
  return t;
}

Napi::Object OutcomeObject(const Napi::Env& env, const WebRtcOutcome& o) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("result", WebRtcResultName(o.result));
  out.Set("detail", o.detail);
  return out;
}

Napi::Value Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject() || info[1].IsArray())
    throw MakeError(env, ErrorCode::kBadArgument,
                    "configureWebRtc(moduleSuffix, settings) takes a string and an object");
  const WebRtcTuning tuning = ReadTuning(env, info[1].As<Napi::Object>());
  const WebRtcTuningResult r = ConfigureWebRtc(info[0].As<Napi::String>(), tuning);
  Napi::Object out = Napi::Object::New(env);
  if (r.trials) {
    Napi::Object o = OutcomeObject(env, *r.trials);
    if (r.trials->ok()) o.Set("readBack", r.trials_read_back);
    out.Set("trials", o);
  }
  if (r.vp8_active_map) out.Set("vp8ActiveMap", OutcomeObject(env, *r.vp8_active_map));
  if (r.vp8_profile) out.Set("vp8Profile", OutcomeObject(env, *r.vp8_profile));
  if (r.vp8_encoder) out.Set("vp8Encoder", OutcomeObject(env, *r.vp8_encoder));
  if (r.min_transmit_bps) out.Set("minTransmitBps", OutcomeObject(env, *r.min_transmit_bps));
  if (r.cores) {
    Napi::Object o = OutcomeObject(env, *r.cores);
    if (r.cores->ok()) o.Set("detected", r.detected_cores);
    out.Set("cores", o);
  }
  return out;
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const WebRtcStats s = GetWebRtcStats();
  const auto n = [](uint64_t v) { return static_cast<double>(v); };
  Napi::Object vp8 = Napi::Object::New(env);
  vp8.Set("hooked", s.vp8.hooked);
  vp8.Set("enabled", s.vp8.active_map);
  vp8.Set("frames", n(s.vp8.frames));
  vp8.Set("mappedFrames", n(s.vp8.mapped_frames));
  vp8.Set("activeMbs", n(s.vp8.active_mbs));
  vp8.Set("totalMbs", n(s.vp8.total_mbs));
  vp8.Set("errors", n(s.vp8.errors));
  vp8.Set("compareMs", n(s.vp8.compare_ns) / 1e6);
  vp8.Set("encodeMs", n(s.vp8.encode_ns) / 1e6);
  vp8.Set("lastQuantizer", s.vp8.last_q);
  vp8.Set("pendingMbs", n(s.vp8.pending_mbs));
  vp8.Set("profile", s.vp8.profile);
  vp8.Set("profileSets", n(s.vp8.profile_sets));
  vp8.Set("lastVersion", s.vp8.last_version);
  vp8.Set("encoder", s.vp8.encoder == Vp8Encoder::kTether ? "tether" : "libwebrtc");
  vp8.Set("tetherEncoders", n(s.vp8.tether_encoders));
  vp8.Set("keyRequests", n(s.vp8.key_requests));
  vp8.Set("forcedKeyFrames", n(s.vp8.forced_key_frames));
  Napi::Object send = Napi::Object::New(env);
  send.Set("hooked", s.send_stream.hooked);
  send.Set("bps", s.send_stream.min_transmit_bps);
  send.Set("calls", n(s.send_stream.calls));
  send.Set("libwebrtcMaxBps", s.send_stream.libwebrtc_max_bps);
  Napi::Object out = Napi::Object::New(env);
  out.Set("vp8", vp8);
  out.Set("sendStream", send);
  return out;
}

}  // namespace

Napi::Value KeyFrame(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), RequestKeyFrame());
}

void ExportWebRtc(Napi::Env env, Napi::Object exports) {
  exports.Set("requestKeyFrame", Napi::Function::New(env, KeyFrame, "requestKeyFrame"));
  exports.Set("configureWebRtc", Napi::Function::New(env, Configure, "configureWebRtc"));
  exports.Set("webRtcStats", Napi::Function::New(env, Stats, "webRtcStats"));
}

}  // namespace tether
