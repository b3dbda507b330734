// JS class Injector over an InputInjector. Every method is synchronous: each is a few XTEST
// requests and one round trip to the local X server (well under a millisecond).
#pragma once

#include <napi.h>

#include <memory>

#include "tether/input_injector.h"

namespace tether {

class InjectorWrap final : public Napi::ObjectWrap<InjectorWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit InjectorWrap(const Napi::CallbackInfo& info);
  ~InjectorWrap() override;

 private:
  // Throws ERR_CLOSED when closed: the single guard for every method.
  InputInjector& RequireOpen(Napi::Env env) const;

  Napi::Value MoveMouse(const Napi::CallbackInfo& info);
  Napi::Value Button(const Napi::CallbackInfo& info);
  Napi::Value Wheel(const Napi::CallbackInfo& info);
  Napi::Value Key(const Napi::CallbackInfo& info);
  Napi::Value Text(const Napi::CallbackInfo& info);
  Napi::Value RestoreKeymap(const Napi::CallbackInfo& info);
  Napi::Value ReleaseAll(const Napi::CallbackInfo& info);
  Napi::Value SelectMonitor(const Napi::CallbackInfo& info);
  Napi::Value GetArea(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);

  std::unique_ptr<InputInjector> injector_;
  bool closed_ = true;
};

}  // namespace tether
