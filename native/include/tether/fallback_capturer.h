// Behaviour by wrapping: use `main`, and if it cannot start for a reason `secondary` does not share
// (e.g. the X server has no DAMAGE extension), use `secondary` instead. Portable.
#pragma once

#include <memory>

#include "tether/screen_capturer.h"

namespace tether {

class FallbackScreenCapturer final : public ScreenCapturer {
 public:
  FallbackScreenCapturer(std::unique_ptr<ScreenCapturer> main,
                         std::unique_ptr<ScreenCapturer> secondary);

  // Starts `main`; on kNoExtension closes it and starts `secondary`.
  Status Start() override;
  CaptureResult CaptureFrame(Frame* frame, Status* error) override;
  Status CaptureCursor(CursorState* cursor) override;
  Status GetMonitors(std::vector<Monitor>* monitors) override;
  Status SelectMonitor(const std::string& name) override;
  Rect capture_area() const override;
  bool damage_tracking() const override;
  void Close() override;
  bool ChangePending() override;
  bool pointer_events() const override;
  int HeldBackMs() override;
  bool WaitForChange(int timeout_ms) override;
  void Wake() override;

 private:
  ScreenCapturer* active() const { return use_secondary_ ? secondary_.get() : main_.get(); }

  std::unique_ptr<ScreenCapturer> main_;
  std::unique_ptr<ScreenCapturer> secondary_;
  bool use_secondary_ = false;
};

}  // namespace tether
