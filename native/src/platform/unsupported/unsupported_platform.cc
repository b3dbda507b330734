// The factories for a platform with no backend: every object fails to start with
// ERR_UNSUPPORTED_PLATFORM, so the addon loads and says so instead of failing to link.
#include <chrono>
#include <memory>

#include "tether/clock.h"
#include "tether/input_injector.h"
#include "tether/screen_capturer.h"

namespace tether {

namespace {

Status Unsupported() {
  return Status(ErrorCode::kUnsupportedPlatform,
                "screen capture and input injection are not implemented on this platform yet");
}

class UnsupportedCapturer final : public ScreenCapturer {
 public:
  Status Start() override { return Unsupported(); }
  CaptureResult CaptureFrame(Frame*, Status* error) override {
    *error = Unsupported();
    return CaptureResult::kErrorPermanent;
  }
  Status CaptureCursor(CursorState*) override { return Unsupported(); }
  Status GetMonitors(std::vector<Monitor>*) override { return Unsupported(); }
  Status SelectMonitor(const std::string&) override { return Unsupported(); }
  Rect capture_area() const override { return Rect{}; }
  bool damage_tracking() const override { return false; }
  void Close() override {}
};

class UnsupportedInjector final : public InputInjector {
 public:
  Status Start() override { return Unsupported(); }
  Status MoveMouse(int32_t, int32_t) override { return Unsupported(); }
  Status Button(MouseButton, KeyAction) override { return Unsupported(); }
  Status Wheel(int32_t, int32_t) override { return Unsupported(); }
  Status Key(const std::string&, KeyAction, Modifiers) override { return Unsupported(); }
  Status Text(const std::string&) override { return Unsupported(); }
  Status RestoreKeymap() override { return Unsupported(); }
  Status ReleaseAll() override { return Unsupported(); }
  Status SelectMonitor(const std::string&) override { return Unsupported(); }
  Status TargetArea(Rect*) override { return Unsupported(); }
  void Close() override {}
};

}  // namespace

std::unique_ptr<ScreenCapturer> CreateScreenCapturer(const CapturerOptions&) {
  return std::make_unique<UnsupportedCapturer>();
}
std::unique_ptr<ScreenCapturer> CreateFullFrameCapturer(const CapturerOptions&) {
  return std::make_unique<UnsupportedCapturer>();
}
std::unique_ptr<InputInjector> CreateInputInjector(const InjectorOptions&) {
  return std::make_unique<UnsupportedInjector>();
}
const char* PlatformBackendName() {
  return "unsupported";
}

int64_t ThreadCpuTimeNs() {
  return 0;
}
int64_t RealtimeUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace tether
