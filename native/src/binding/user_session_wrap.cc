#include "binding/user_session_wrap.h"

#include <string>

#include "binding/errors.h"
#include "tether/user_session.h"

namespace tether {

namespace {

Napi::Value UiLanguage(const Napi::CallbackInfo& info) {
  std::string tag;
  ThrowIfError(info.Env(), ReadUiLanguage(&tag));
  return Napi::String::New(info.Env(), tag);
}

Napi::Value RestrictToOwnerJs(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString())
    ThrowIfError(info.Env(), Status(ErrorCode::kBadArgument, "restrictToOwner(path): a path"));
  ThrowIfError(info.Env(), RestrictToOwner(info[0].As<Napi::String>().Utf8Value()));
  return info.Env().Undefined();
}

Napi::Value HideOwnConsoleJs(const Napi::CallbackInfo& info) {
  bool hidden = false;
  ThrowIfError(info.Env(), HideOwnConsole(&hidden));
  return Napi::Boolean::New(info.Env(), hidden);
}

}  // namespace

void ExportUserSession(Napi::Env env, Napi::Object exports) {
  exports.Set("uiLanguage", Napi::Function::New(env, UiLanguage, "uiLanguage"));
  exports.Set("restrictToOwner", Napi::Function::New(env, RestrictToOwnerJs, "restrictToOwner"));
  exports.Set("hideOwnConsole", Napi::Function::New(env, HideOwnConsoleJs, "hideOwnConsole"));
}

}  // namespace tether
