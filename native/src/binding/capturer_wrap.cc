#include "binding/capturer_wrap.h"

#include <string>
#include <utility>
#include <vector>

#include "binding/errors.h"
#include "tether/clock.h"
#include "tether/i420.h"

namespace tether {

namespace {

enum class OutputFormat { kBgra, kI420 };

Napi::Object RectToJs(Napi::Env env, const Rect& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("x", r.x);
  o.Set("y", r.y);
  o.Set("width", r.width);
  o.Set("height", r.height);
  return o;
}

// Keeps a leased frame buffer alive while a JS ArrayBuffer shows it.
struct LeaseHint {
  std::shared_ptr<FrameBuffer> buffer;
  std::weak_ptr<FramePool> pool;
  uint64_t lease_id;
};

void FinalizeLease(Napi::Env, void*, LeaseHint* hint) {
  ReleaseFrameBuffer(hint->pool, hint->lease_id);
  delete hint;
}

// One captureFrame() call: grab (and convert) on a pool thread, settle the promise on the JS one.
class CaptureWorker final : public Napi::AsyncWorker {
 public:
  CaptureWorker(Napi::Env env, CapturerWrap* wrap, std::shared_ptr<CapturerCore> core,
                OutputFormat format, bool incremental, bool cursor, int wait_ms, Napi::Value into,
                uint8_t* into_data, size_t into_bytes)
      : Napi::AsyncWorker(env, "tether:captureFrame"),
        deferred_(Napi::Promise::Deferred::New(env)),
        wrap_(wrap),
        core_(std::move(core)),
        format_(format),
        incremental_(incremental),
        want_cursor_(cursor),
        wait_ms_(wait_ms),
        into_data_(into_data),
        into_bytes_(into_bytes) {
    self_ = Napi::Persistent(wrap->Value());  // the wrap outlives this capture
    if (!into.IsUndefined()) into_ = Napi::Persistent(into.As<Napi::Object>());
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    WaitForChange();
    std::lock_guard<std::mutex> lock(core_->mutex);
    if (core_->closed.load()) {
      status_ = Status(ErrorCode::kClosed, "the capturer was closed");
      return;
    }
    const int64_t cpu0 = ThreadCpuTimeNs();
    result_ = core_->capturer->CaptureFrame(&frame_, &status_);
    if (result_ == CaptureResult::kOk) {
      status_ = Status::Ok();
      if (format_ == OutputFormat::kI420) {
        const int64_t t0 = MonotonicNs();
        const bool all = !incremental_ || frame_.full;
        status_ = ConvertBgraToI420(frame_.buffer->data(), frame_.stride, frame_.size,
                                    frame_.updated_rows, all, into_data_, into_bytes_);
        convert_ms_ = static_cast<double>(MonotonicNs() - t0) / 1e6;
        ReleaseFrameBuffer(frame_.pool, frame_.lease_id);  // the I420 copy is what the caller keeps
        frame_.buffer.reset();
      }
      if (status_.ok() && want_cursor_) {
        has_cursor_ = core_->capturer->CaptureCursor(&cursor_).ok();
      }
    }
    core_->captures++;
    core_->cpu_ns += ThreadCpuTimeNs() - cpu0;
  }

  // Waits without the lock (close() and the other calls go on meanwhile) until the capturer says
  // the screen may have changed, the wait runs out, or close() wakes it.
  void WaitForChange() {
    if (wait_ms_ <= 0) return;
    const int64_t deadline = MonotonicNs() + int64_t{wait_ms_} * 1000000;
    for (;;) {
      int held_ms = -1;  // a held-back change (pointer motion) is due in this long
      {
        std::lock_guard<std::mutex> lock(core_->mutex);
        if (core_->closed.load() || core_->capturer->ChangePending()) return;
        held_ms = core_->capturer->HeldBackMs();
      }
      const int64_t left_ns = deadline - MonotonicNs();
      if (left_ns <= 0) return;
      int wait_ms = static_cast<int>((left_ns + 999999) / 1000000);
      if (held_ms >= 0) wait_ms = std::min(wait_ms, std::max(1, held_ms));
      core_->capturer->WaitForChange(wait_ms);
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    core_->busy.store(false);
    if (!status_.ok() &&
        (status_.code() == ErrorCode::kClosed || status_.code() == ErrorCode::kBadArgument) &&
        result_ == CaptureResult::kOk) {
      ReleaseFrameBuffer(frame_.pool, frame_.lease_id);
      deferred_.Reject(MakeError(env, status_).Value());
      return;
    }
    if (status_.code() == ErrorCode::kClosed) {
      deferred_.Reject(MakeError(env, status_).Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    switch (result_) {
      case CaptureResult::kErrorTemporary:
      case CaptureResult::kErrorPermanent:
        out.Set("status",
                result_ == CaptureResult::kErrorTemporary ? "temporary-error" : "permanent-error");
        out.Set("code", ErrorCodeName(status_.code()));
        out.Set("message", status_.message());
        deferred_.Resolve(out);
        return;
      case CaptureResult::kDisplayChanged:
        out.Set("status", "display-changed");
        out.Set("message", status_.message());
        {
          std::lock_guard<std::mutex> lock(core_->mutex);
          out.Set("area", RectToJs(env, core_->capturer->capture_area()));
        }
        deferred_.Resolve(out);
        return;
      case CaptureResult::kOk:
        break;
    }
    out.Set("status", "ok");
    out.Set("format", format_ == OutputFormat::kBgra ? "bgra" : "i420");
    out.Set("width", frame_.size.width);
    out.Set("height", frame_.size.height);
    out.Set("x", frame_.origin.x);
    out.Set("y", frame_.origin.y);
    out.Set("sequence", static_cast<double>(frame_.sequence));
    out.Set("captureTimeUs", static_cast<double>(frame_.capture_time_us));
    out.Set("grabMs", frame_.grab_ms);
    out.Set("convertMs", convert_ms_);
    out.Set("full", frame_.full);
    Napi::Array rects = Napi::Array::New(env, frame_.updated.size());
    for (size_t i = 0; i < frame_.updated.size(); ++i) {
      rects.Set(static_cast<uint32_t>(i), RectToJs(env, frame_.updated[i]));
    }
    out.Set("updatedRects", rects);
    if (format_ == OutputFormat::kBgra) {
      const size_t bytes = static_cast<size_t>(frame_.stride) * frame_.size.height;
      void* data = frame_.buffer->data();
      // No copy: JS sees the pool buffer itself until release() or GC returns it.
      auto* hint = new LeaseHint{frame_.buffer, frame_.pool, frame_.lease_id};
      out.Set("data", Napi::ArrayBuffer::New(env, data, bytes, FinalizeLease, hint));
      out.Set("stride", frame_.stride);
      wrap_->TrackLease(data, frame_.pool, frame_.lease_id);
    } else {
      out.Set("data", into_.Value());
      out.Set("stride", frame_.size.width);
    }
    if (has_cursor_) {
      Napi::Object c = Napi::Object::New(env);
      c.Set("x", cursor_.position.x);
      c.Set("y", cursor_.position.y);
      c.Set("visible", cursor_.visible);
      if (cursor_.shape_changed) {
        const CursorShape& s = cursor_.shape;
        Napi::Object shape = Napi::Object::New(env);
        shape.Set("width", s.width);
        shape.Set("height", s.height);
        shape.Set("hotX", s.hot_x);
        shape.Set("hotY", s.hot_y);
        shape.Set("serial", static_cast<double>(s.serial));
        // Copied: the shape lives in a vector that this worker frees; it is cursor-sized.
        shape.Set("data", Napi::Buffer<uint8_t>::Copy(env, s.pixels.data(), s.pixels.size()));
        c.Set("shape", shape);
      }
      out.Set("cursor", c);
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override {
    core_->busy.store(false);
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  CapturerWrap* wrap_;
  Napi::ObjectReference self_;
  Napi::ObjectReference into_;
  std::shared_ptr<CapturerCore> core_;
  OutputFormat format_;
  bool incremental_;
  bool want_cursor_;
  int wait_ms_;  // waitMs: up to this long for the screen to change before grabbing
  uint8_t* into_data_;
  size_t into_bytes_;

  CaptureResult result_ = CaptureResult::kErrorPermanent;
  Status status_;
  Frame frame_;
  double convert_ms_ = 0;
  bool has_cursor_ = false;
  CursorState cursor_;
};

// The bytes of a Buffer / TypedArray / DataView / ArrayBuffer argument.
bool BytesOf(const Napi::Value& v, uint8_t** data, size_t* bytes) {
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    *data = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
    *bytes = t.ByteLength();
    return true;
  }
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer a = v.As<Napi::ArrayBuffer>();
    *data = static_cast<uint8_t*>(a.Data());
    *bytes = a.ByteLength();
    return true;
  }
  return false;
}

}  // namespace

Napi::Function CapturerWrap::Define(Napi::Env env) {
  return DefineClass(env, "Capturer",
                     {
                         InstanceMethod<&CapturerWrap::CaptureFrame>("captureFrame"),
                         InstanceMethod<&CapturerWrap::ReleaseFrame>("releaseFrame"),
                         InstanceMethod<&CapturerWrap::Monitors>("monitors"),
                         InstanceMethod<&CapturerWrap::SelectMonitor>("selectMonitor"),
                         InstanceMethod<&CapturerWrap::Close>("close"),
                         InstanceMethod<&CapturerWrap::Wake>("wake"),
                         InstanceMethod<&CapturerWrap::Stats>("stats"),
                         InstanceAccessor<&CapturerWrap::GetArea>("area"),
                         InstanceAccessor<&CapturerWrap::GetDamageTracking>("damageTracking"),
                         InstanceAccessor<&CapturerWrap::GetPointerEvents>("pointerEvents"),
                         InstanceAccessor<&CapturerWrap::GetClosed>("closed"),
                     });
}

CapturerWrap::CapturerWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<CapturerWrap>(info), core_(std::make_shared<CapturerCore>()) {
  Napi::Env env = info.Env();
  core_->closed.store(true);  // until Start() succeeds
  Napi::Object options = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  CapturerOptions o;
  o.display = OptionalString(options, "display", "");
  o.monitor = OptionalString(options, "monitor", "");
  const bool damage = OptionalBool(options, "damage", true);
  Napi::Value max = options.Get("maxBuffers");
  if (!max.IsUndefined()) {
    const int32_t n = RequireInt32(max, "maxBuffers");
    if (n < 1 || n > 64) {
      throw MakeError(env, ErrorCode::kBadArgument, "maxBuffers must lie within 1..64");
    }
    o.max_buffers = static_cast<size_t>(n);
  }
  core_->capturer = damage ? CreateScreenCapturer(o) : CreateFullFrameCapturer(o);
  Status s = core_->capturer->Start();
  if (!s.ok()) {
    core_->capturer->Close();
    throw MakeError(env, s);
  }
  core_->closed.store(false);
}

CapturerWrap::~CapturerWrap() {
  DoClose();
}

void CapturerWrap::RequireOpen(Napi::Env env) const {
  if (core_->closed.load()) throw MakeError(env, ErrorCode::kClosed, "the capturer is closed");
}

void CapturerWrap::DoClose() {
  if (!core_ || core_->capturer == nullptr) return;
  core_->closed.store(true);
  core_->capturer->Wake();                         // cuts short a capture waiting for a change
  std::lock_guard<std::mutex> lock(core_->mutex);  // waits for an in-flight grab to finish
  core_->capturer->Close();
}

void CapturerWrap::TrackLease(void* data, std::weak_ptr<FramePool> pool, uint64_t lease_id) {
  live_leases_[data] = LiveLease{std::move(pool), lease_id};
}

Napi::Value CapturerWrap::CaptureFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env);
  Napi::Object options = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  const std::string format_name = OptionalString(options, "format", "bgra");
  OutputFormat format;
  if (format_name == "bgra") {
    format = OutputFormat::kBgra;
  } else if (format_name == "i420") {
    format = OutputFormat::kI420;
  } else {
    throw MakeError(env, ErrorCode::kBadArgument,
                    "format must be 'bgra' or 'i420', got '" + format_name + "'");
  }
  Napi::Value into = options.Get("into");
  uint8_t* into_data = nullptr;
  size_t into_bytes = 0;
  if (format == OutputFormat::kI420) {
    if (!BytesOf(into, &into_data, &into_bytes)) {
      throw MakeError(env, ErrorCode::kBadArgument,
                      "format 'i420' needs `into`: a Uint8Array / Buffer for the planes");
    }
  } else {
    into = env.Undefined();
  }
  const bool incremental = OptionalBool(options, "incremental", false);
  const bool cursor = OptionalBool(options, "cursor", true);
  int32_t wait_ms = 0;
  Napi::Value wait = options.Get("waitMs");
  if (!wait.IsUndefined()) {
    wait_ms = RequireInt32(wait, "waitMs");
    if (wait_ms < 0 || wait_ms > 10000) {
      throw MakeError(env, ErrorCode::kBadArgument, "waitMs must lie within 0..10000");
    }
  }
  if (core_->busy.exchange(true)) {
    throw MakeError(env, ErrorCode::kBusy,
                    "a captureFrame() is already in flight on this capturer: await it first");
  }
  auto* worker = new CaptureWorker(env, this, core_, format, incremental, cursor, wait_ms, into,
                                   into_data, into_bytes);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value CapturerWrap::ReleaseFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) {
    throw MakeError(env, ErrorCode::kBadArgument, "releaseFrame needs the frame's ArrayBuffer");
  }
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  auto it = live_leases_.find(ab.Data());
  if (it == live_leases_.end() || ab.ByteLength() == 0) return env.Undefined();  // idempotent
  ReleaseFrameBuffer(it->second.pool, it->second.lease_id);
  live_leases_.erase(it);
  ab.Detach();  // the buffer is reused from now on: JS must not see it change under it
  return env.Undefined();
}

Napi::Value CapturerWrap::Monitors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env);
  std::vector<Monitor> monitors;
  {
    std::lock_guard<std::mutex> lock(core_->mutex);
    ThrowIfError(env, core_->capturer->GetMonitors(&monitors));
  }
  Napi::Array out = Napi::Array::New(env, monitors.size());
  for (size_t i = 0; i < monitors.size(); ++i) {
    Napi::Object m = RectToJs(env, monitors[i].bounds);
    m.Set("name", monitors[i].name);
    m.Set("primary", monitors[i].primary);
    out.Set(static_cast<uint32_t>(i), m);
  }
  return out;
}

Napi::Value CapturerWrap::SelectMonitor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env);
  std::string name;
  if (info[0].IsString()) {
    name = info[0].As<Napi::String>().Utf8Value();
  } else if (!info[0].IsNull() && !info[0].IsUndefined()) {
    throw MakeError(env, ErrorCode::kBadArgument, "monitor must be a name or null");
  }
  std::lock_guard<std::mutex> lock(core_->mutex);
  ThrowIfError(env, core_->capturer->SelectMonitor(name));
  return RectToJs(env, core_->capturer->capture_area());
}

Napi::Value CapturerWrap::Close(const Napi::CallbackInfo& info) {
  DoClose();
  return info.Env().Undefined();
}

// Cuts short a capture waiting for a change (or the next one): it returns at once, with what
// changed so far. Safe from any thread, also on a closed capturer.
Napi::Value CapturerWrap::Wake(const Napi::CallbackInfo& info) {
  if (core_ && core_->capturer != nullptr && !core_->closed.load()) core_->capturer->Wake();
  return info.Env().Undefined();
}

Napi::Value CapturerWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  std::lock_guard<std::mutex> lock(core_->mutex);
  out.Set("captures", static_cast<double>(core_->captures));
  out.Set("cpuMs", static_cast<double>(core_->cpu_ns) / 1e6);
  return out;
}

Napi::Value CapturerWrap::GetArea(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env);
  std::lock_guard<std::mutex> lock(core_->mutex);
  return RectToJs(env, core_->capturer->capture_area());
}

Napi::Value CapturerWrap::GetDamageTracking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env);
  std::lock_guard<std::mutex> lock(core_->mutex);
  return Napi::Boolean::New(env, core_->capturer->damage_tracking());
}

Napi::Value CapturerWrap::GetPointerEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env);
  std::lock_guard<std::mutex> lock(core_->mutex);
  return Napi::Boolean::New(env, core_->capturer->pointer_events());
}

Napi::Value CapturerWrap::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), core_->closed.load());
}

}  // namespace tether
