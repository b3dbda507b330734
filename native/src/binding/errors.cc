#include "binding/errors.h"

#include <cmath>

namespace tether {

Napi::Error MakeError(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, ErrorCodeName(code)));
  return error;
}

Napi::Error MakeError(Napi::Env env, const Status& status) {
  return MakeError(env, status.code(), status.message());
}

void ThrowIfError(Napi::Env env, const Status& status) {
  if (!status.ok()) throw MakeError(env, status);
}

std::string OptionalString(const Napi::Object& options, const char* key,
                           const std::string& fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) {
    throw MakeError(options.Env(), ErrorCode::kBadArgument,
                    std::string("option '") + key + "' must be a string");
  }
  return v.As<Napi::String>().Utf8Value();
}

bool OptionalBool(const Napi::Object& options, const char* key, bool fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) {
    throw MakeError(options.Env(), ErrorCode::kBadArgument,
                    std::string("option '") + key + "' must be a boolean");
  }
  return v.As<Napi::Boolean>().Value();
}

int32_t RequireInt32(const Napi::Value& value, const char* what) {
  if (!value.IsNumber()) {
    throw MakeError(value.Env(), ErrorCode::kBadArgument, std::string(what) + " must be a number");
  }
  const double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < -2147483648.0 || d > 2147483647.0) {
    throw MakeError(value.Env(), ErrorCode::kBadArgument,
                    std::string(what) + " must be a 32-bit integer, got " + std::to_string(d));
  }
  return static_cast<int32_t>(d);
}

}  // namespace tether
