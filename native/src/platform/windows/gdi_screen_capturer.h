// GDI screen capture: BitBlt from the screen DC into DIB sections. Works wherever GDI does (also
// under Wine, in remote sessions and on virtual machines without desktop duplication), with no
// change tracking: every frame is a full grab.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "platform/windows/cursor_reader.h"
#include "platform/windows/win_headers.h"
#include "tether/frame_pool.h"
#include "tether/screen_capturer.h"

namespace tether {

// Pixel memory of a DIB section (32-bit, top-down, BGRA): BitBlt writes the frame into it in
// place. Owns the bitmap (DeleteObject in the destructor; it is selected into no DC by then).
class DibFrameBuffer final : public FrameBuffer {
 public:
  static std::shared_ptr<DibFrameBuffer> Create(Size size, Status* error);
  ~DibFrameBuffer() override;
  uint8_t* data() override { return bits_; }
  size_t capacity() const override { return bytes_; }
  HBITMAP bitmap() const { return bitmap_; }

 private:
  DibFrameBuffer(HBITMAP bitmap, uint8_t* bits, size_t bytes)
      : bitmap_(bitmap), bits_(bits), bytes_(bytes) {}
  HBITMAP bitmap_;
  uint8_t* bits_;
  size_t bytes_;
};

class GdiScreenCapturer final : public ScreenCapturer {
 public:
  explicit GdiScreenCapturer(CapturerOptions options);
  ~GdiScreenCapturer() override;

  // Errors: kNoDisplay (no desktop to draw from), kBadArgument (unknown monitor).
  Status Start() override;
  CaptureResult CaptureFrame(Frame* frame, Status* error) override;
  Status CaptureCursor(CursorState* cursor) override;
  Status GetMonitors(std::vector<Monitor>* monitors) override;
  Status SelectMonitor(const std::string& name) override;
  Rect capture_area() const override { return area_; }
  bool damage_tracking() const override { return false; }
  void Close() override;

 private:
  Status ResetBuffers();

  CapturerOptions options_;
  bool started_ = false;
  bool closed_ = false;
  std::string monitor_;
  Rect area_;
  HDC memory_dc_ = nullptr;  // owned: DeleteDC in Close(); a DIB is selected only during a grab
  std::shared_ptr<FramePool> pool_;
  Status alloc_error_;
  bool force_full_ = true;
  uint64_t sequence_ = 0;
  CursorReader cursor_;
};

}  // namespace tether
