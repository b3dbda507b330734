// The one place where core Status becomes a JS Error with a stable `code`.
#pragma once

#include <napi.h>

#include <string>

#include "tether/status.h"

namespace tether {

// An Error whose `code` is ErrorCodeName(status.code()) and message is status.message().
Napi::Error MakeError(Napi::Env env, const Status& status);
Napi::Error MakeError(Napi::Env env, ErrorCode code, const std::string& message);
// Throws MakeError(...) when !status.ok().
void ThrowIfError(Napi::Env env, const Status& status);

// Reads optional properties of an options object, throwing ERR_BAD_ARGUMENT on a wrong type.
std::string OptionalString(const Napi::Object& options, const char* key,
                           const std::string& fallback);
bool OptionalBool(const Napi::Object& options, const char* key, bool fallback);
int32_t RequireInt32(const Napi::Value& value, const char* what);

}  // namespace tether
