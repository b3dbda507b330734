#include "tether/fallback_capturer.h"

#include <utility>

namespace tether {

FallbackScreenCapturer::FallbackScreenCapturer(std::unique_ptr<ScreenCapturer> main,
                                               std::unique_ptr<ScreenCapturer> secondary)
    : main_(std::move(main)), secondary_(std::move(secondary)) {}

Status FallbackScreenCapturer::Start() {
  Status s = main_->Start();
  if (s.code() != ErrorCode::kNoExtension) return s;
  main_->Close();
  use_secondary_ = true;
  return secondary_->Start();
}

CaptureResult FallbackScreenCapturer::CaptureFrame(Frame* frame, Status* error) {
  return active()->CaptureFrame(frame, error);
}
Status FallbackScreenCapturer::CaptureCursor(CursorState* cursor) {
  return active()->CaptureCursor(cursor);
}
Status FallbackScreenCapturer::GetMonitors(std::vector<Monitor>* monitors) {
  return active()->GetMonitors(monitors);
}
Status FallbackScreenCapturer::SelectMonitor(const std::string& name) {
  return active()->SelectMonitor(name);
}
Rect FallbackScreenCapturer::capture_area() const {
  return active()->capture_area();
}
bool FallbackScreenCapturer::damage_tracking() const {
  return active()->damage_tracking();
}
bool FallbackScreenCapturer::ChangePending() {
  return active()->ChangePending();
}
bool FallbackScreenCapturer::pointer_events() const {
  return active()->pointer_events();
}
int FallbackScreenCapturer::HeldBackMs() {
  return active()->HeldBackMs();
}
// Start() chose the active capturer before any capture could wait, so reading it here is safe.
bool FallbackScreenCapturer::WaitForChange(int timeout_ms) {
  return active()->WaitForChange(timeout_ms);
}
void FallbackScreenCapturer::Wake() {
  main_->Wake();
  secondary_->Wake();
}
void FallbackScreenCapturer::Close() {
  main_->Close();
  secondary_->Close();
}

}  // namespace tether
