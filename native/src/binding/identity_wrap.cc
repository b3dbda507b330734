#include "binding/identity_wrap.h"

#include <string>

#include "binding/errors.h"
#include "tether/machine_id.h"

namespace tether {

namespace {

Napi::Value MachineId(const Napi::CallbackInfo& info) {
  std::string id;
  ThrowIfError(info.Env(), ReadMachineId(&id));
  return Napi::String::New(info.Env(), id);
}

}  // namespace

void ExportIdentity(Napi::Env env, Napi::Object exports) {
  exports.Set("machineId", Napi::Function::New(env, MachineId, "machineId"));
}

}  // namespace tether
