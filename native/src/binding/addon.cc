// Module entry: exports Capturer, Injector, the WebRTC tuning, machineId, the user session
// (uiLanguage, restrictToOwner, hideOwnConsole) and what the loader reports.
#include <napi.h>

#include "binding/capturer_wrap.h"
#include "binding/identity_wrap.h"
#include "binding/injector_wrap.h"
#include "binding/user_session_wrap.h"
#include "binding/webrtc_wrap.h"
#include "tether/screen_capturer.h"

namespace tether {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Capturer", CapturerWrap::Define(env));
  exports.Set("Injector", InjectorWrap::Define(env));
  exports.Set("backend", Napi::String::New(env, PlatformBackendName()));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  ExportWebRtc(env, exports);
  ExportIdentity(env, exports);
  ExportUserSession(env, exports);
  return exports;
}

}  // namespace tether

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return tether::Init(env, exports);
}

NODE_API_MODULE(tether_native, InitModule)
