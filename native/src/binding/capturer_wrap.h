// JS class Capturer over a ScreenCapturer. Captures run on the libuv thread pool (AsyncWorker).
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "tether/frame_pool.h"
#include "tether/screen_capturer.h"

namespace tether {

// Shared by the wrap and its in-flight workers. `mutex` serializes every call into `capturer`
// (a worker thread captures while the JS thread may ask for monitors or close).
struct CapturerCore {
  std::mutex mutex;
  std::unique_ptr<ScreenCapturer> capturer;
  std::atomic<bool> closed{false};
  std::atomic<bool> busy{false};
  uint64_t captures = 0;  // under mutex
  int64_t cpu_ns = 0;     // thread CPU time spent inside capture work, under mutex
};

class CapturerWrap final : public Napi::ObjectWrap<CapturerWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit CapturerWrap(const Napi::CallbackInfo& info);
  ~CapturerWrap() override;

  // Called by the capture worker on the JS thread for each BGRA frame handed out.
  void TrackLease(void* data, std::weak_ptr<FramePool> pool, uint64_t lease_id);

 private:
  // Throws ERR_CLOSED when closed: the single guard for every method.
  void RequireOpen(Napi::Env env) const;
  void DoClose();

  Napi::Value CaptureFrame(const Napi::CallbackInfo& info);
  Napi::Value ReleaseFrame(const Napi::CallbackInfo& info);
  Napi::Value Monitors(const Napi::CallbackInfo& info);
  Napi::Value SelectMonitor(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Wake(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value GetArea(const Napi::CallbackInfo& info);
  Napi::Value GetDamageTracking(const Napi::CallbackInfo& info);
  Napi::Value GetPointerEvents(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);

  std::shared_ptr<CapturerCore> core_;
  struct LiveLease {
    std::weak_ptr<FramePool> pool;
    uint64_t lease_id;
  };
  std::unordered_map<void*, LiveLease> live_leases_;  // JS thread only; keyed by buffer address
};

}  // namespace tether
