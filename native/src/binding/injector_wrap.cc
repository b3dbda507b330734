#include "binding/injector_wrap.h"

#include <string>

#include "binding/errors.h"

namespace tether {

namespace {

KeyAction ParseAction(Napi::Env env, const Napi::Value& v) {
  if (v.IsUndefined()) return KeyAction::kPress;
  const std::string a = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (a == "press") return KeyAction::kPress;
  if (a == "down") return KeyAction::kDown;
  if (a == "up") return KeyAction::kUp;
  throw MakeError(env, ErrorCode::kBadArgument, "action must be 'press', 'down' or 'up'");
}

}  // namespace

Napi::Function InjectorWrap::Define(Napi::Env env) {
  return DefineClass(env, "Injector",
                     {
                         InstanceMethod<&InjectorWrap::MoveMouse>("moveMouse"),
                         InstanceMethod<&InjectorWrap::Button>("button"),
                         InstanceMethod<&InjectorWrap::Wheel>("wheel"),
                         InstanceMethod<&InjectorWrap::Key>("key"),
                         InstanceMethod<&InjectorWrap::Text>("text"),
                         InstanceMethod<&InjectorWrap::RestoreKeymap>("restoreKeymap"),
                         InstanceMethod<&InjectorWrap::ReleaseAll>("releaseAll"),
                         InstanceMethod<&InjectorWrap::SelectMonitor>("selectMonitor"),
                         InstanceMethod<&InjectorWrap::Close>("close"),
                         InstanceAccessor<&InjectorWrap::GetArea>("area"),
                         InstanceAccessor<&InjectorWrap::GetClosed>("closed"),
                     });
}

InjectorWrap::InjectorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<InjectorWrap>(info) {
  Napi::Env env = info.Env();
  Napi::Object options = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  InjectorOptions o;
  o.display = OptionalString(options, "display", "");
  o.monitor = OptionalString(options, "monitor", "");
  injector_ = CreateInputInjector(o);
  Status s = injector_->Start();
  if (!s.ok()) {
    injector_->Close();
    throw MakeError(env, s);
  }
  closed_ = false;
}

InjectorWrap::~InjectorWrap() {
  if (injector_) injector_->Close();
}

InputInjector& InjectorWrap::RequireOpen(Napi::Env env) const {
  if (closed_) throw MakeError(env, ErrorCode::kClosed, "the injector is closed");
  return *injector_;
}

Napi::Value InjectorWrap::MoveMouse(const Napi::CallbackInfo& info) {
  InputInjector& in = RequireOpen(info.Env());
  ThrowIfError(info.Env(), in.MoveMouse(RequireInt32(info[0], "x"), RequireInt32(info[1], "y")));
  return info.Env().Undefined();
}

Napi::Value InjectorWrap::Button(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputInjector& in = RequireOpen(env);
  const std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  MouseButton b;
  if (name == "left") {
    b = MouseButton::kLeft;
  } else if (name == "middle") {
    b = MouseButton::kMiddle;
  } else if (name == "right") {
    b = MouseButton::kRight;
  } else if (name == "back") {
    b = MouseButton::kBack;
  } else if (name == "forward") {
    b = MouseButton::kForward;
  } else {
    throw MakeError(
        env, ErrorCode::kBadArgument,
        "button must be 'left', 'middle', 'right', 'back' or 'forward', got '" + name + "'");
  }
  ThrowIfError(env, in.Button(b, ParseAction(env, info[1])));
  return env.Undefined();
}

Napi::Value InjectorWrap::Wheel(const Napi::CallbackInfo& info) {
  InputInjector& in = RequireOpen(info.Env());
  ThrowIfError(info.Env(), in.Wheel(RequireInt32(info[0], "dx"), RequireInt32(info[1], "dy")));
  return info.Env().Undefined();
}

Napi::Value InjectorWrap::Key(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputInjector& in = RequireOpen(env);
  if (!info[0].IsString()) {
    throw MakeError(env, ErrorCode::kBadArgument, "code must be a KeyboardEvent.code string");
  }
  Modifiers m;
  if (info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    m.shift = OptionalBool(o, "shift", false);
    m.control = OptionalBool(o, "ctrl", false);
    m.alt = OptionalBool(o, "alt", false);
    m.meta = OptionalBool(o, "meta", false);
  } else if (!info[2].IsUndefined()) {
    throw MakeError(env, ErrorCode::kBadArgument, "modifiers must be an object");
  }
  ThrowIfError(env, in.Key(info[0].As<Napi::String>().Utf8Value(), ParseAction(env, info[1]), m));
  return env.Undefined();
}

Napi::Value InjectorWrap::Text(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputInjector& in = RequireOpen(env);
  if (!info[0].IsString()) throw MakeError(env, ErrorCode::kBadArgument, "text must be a string");
  ThrowIfError(env, in.Text(info[0].As<Napi::String>().Utf8Value()));
  return env.Undefined();
}

Napi::Value InjectorWrap::RestoreKeymap(const Napi::CallbackInfo& info) {
  ThrowIfError(info.Env(), RequireOpen(info.Env()).RestoreKeymap());
  return info.Env().Undefined();
}

Napi::Value InjectorWrap::ReleaseAll(const Napi::CallbackInfo& info) {
  ThrowIfError(info.Env(), RequireOpen(info.Env()).ReleaseAll());
  return info.Env().Undefined();
}

Napi::Value InjectorWrap::SelectMonitor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputInjector& in = RequireOpen(env);
  std::string name;
  if (info[0].IsString()) {
    name = info[0].As<Napi::String>().Utf8Value();
  } else if (!info[0].IsNull() && !info[0].IsUndefined()) {
    throw MakeError(env, ErrorCode::kBadArgument, "monitor must be a name or null");
  }
  ThrowIfError(env, in.SelectMonitor(name));
  return env.Undefined();
}

Napi::Value InjectorWrap::GetArea(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Rect r;
  ThrowIfError(env, RequireOpen(env).TargetArea(&r));
  Napi::Object o = Napi::Object::New(env);
  o.Set("x", r.x);
  o.Set("y", r.y);
  o.Set("width", r.width);
  o.Set("height", r.height);
  return o;
}

Napi::Value InjectorWrap::Close(const Napi::CallbackInfo& info) {
  if (!closed_) {
    closed_ = true;
    injector_->Close();
  }
  return info.Env().Undefined();
}

Napi::Value InjectorWrap::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), closed_);
}

}  // namespace tether
