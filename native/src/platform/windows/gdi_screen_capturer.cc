#include "platform/windows/gdi_screen_capturer.h"

#include <algorithm>
#include <utility>

#include "platform/windows/win_util.h"
#include "tether/clock.h"

namespace tether {

std::shared_ptr<DibFrameBuffer> DibFrameBuffer::Create(Size size, Status* error) {
  BITMAPINFO info{};
  info.bmiHeader.biSize = sizeof info.bmiHeader;
  info.bmiHeader.biWidth = size.width;
  info.bmiHeader.biHeight = -size.height;  // top-down: row 0 first, as Frame wants
  info.bmiHeader.biPlanes = 1;
  info.bmiHeader.biBitCount = 32;
  info.bmiHeader.biCompression = BI_RGB;
  void* bits = nullptr;
  HBITMAP bitmap = CreateDIBSection(nullptr, &info, DIB_RGB_COLORS, &bits, nullptr, 0);
  if (bitmap == nullptr || bits == nullptr) {
    *error = Status(ErrorCode::kInternal, Win32ErrorText("CreateDIBSection", GetLastError()));
    if (bitmap != nullptr) DeleteObject(bitmap);
    return nullptr;
  }
  const size_t bytes = static_cast<size_t>(size.width) * 4 * size.height;
  return std::shared_ptr<DibFrameBuffer>(
      new DibFrameBuffer(bitmap, static_cast<uint8_t*>(bits), bytes));
}

DibFrameBuffer::~DibFrameBuffer() {
  DeleteObject(bitmap_);  // frees the pixels too
}

GdiScreenCapturer::GdiScreenCapturer(CapturerOptions options)
    : options_(std::move(options)), monitor_(options_.monitor) {}

GdiScreenCapturer::~GdiScreenCapturer() {
  Close();
}

Status GdiScreenCapturer::Start() {
  if (closed_) return Status(ErrorCode::kClosed, "the capturer is closed");
  ScopedDpiAwareness dpi;
  Status s = AreaForMonitor(monitor_, &area_);
  if (!s.ok()) return s;
  ScreenDc screen;
  if (screen.get() == nullptr) {
    return Status(ErrorCode::kNoDisplay, Win32ErrorText("GetDC(screen)", GetLastError()));
  }
  memory_dc_ = CreateCompatibleDC(screen.get());
  if (memory_dc_ == nullptr) {
    return Status(ErrorCode::kInternal, Win32ErrorText("CreateCompatibleDC", GetLastError()));
  }
  s = ResetBuffers();
  if (s.ok()) started_ = true;
  return s;
}

Status GdiScreenCapturer::ResetBuffers() {
  const Size size{area_.width, area_.height};
  auto factory = [this, size](size_t) -> std::shared_ptr<FrameBuffer> {
    return DibFrameBuffer::Create(size, &alloc_error_);
  };
  const size_t bytes = static_cast<size_t>(area_.width) * 4 * area_.height;
  pool_ = std::make_shared<FramePool>(factory, bytes, std::max<size_t>(1, options_.max_buffers));
  FramePool::Lease lease;  // the first buffer now: an allocation failure fails Start()
  if (!pool_->Acquire(&lease)) {
    return alloc_error_.ok() ? Status(ErrorCode::kInternal, "cannot allocate a frame buffer")
                             : alloc_error_;
  }
  pool_->Release(lease.id);
  force_full_ = true;
  cursor_.Reset();
  return Status::Ok();
}

CaptureResult GdiScreenCapturer::CaptureFrame(Frame* frame, Status* error) {
  if (closed_ || !started_) {
    *error = Status(ErrorCode::kClosed, "the capturer is closed");
    return CaptureResult::kErrorPermanent;
  }
  ScopedDpiAwareness dpi;
  Rect area;
  Status s = AreaForMonitor(monitor_, &area);
  if (s.code() == ErrorCode::kBadArgument) {
    monitor_.clear();  // the monitor went away: go on with the whole desktop
    s = AreaForMonitor(monitor_, &area);
  }
  if (!s.ok()) {
    *error = s;
    return CaptureResult::kErrorTemporary;  // no desktop for now (e.g. a desktop switch)
  }
  if (area != area_) {
    area_ = area;
    s = ResetBuffers();
    if (!s.ok()) {
      *error = s;
      return CaptureResult::kErrorPermanent;
    }
    *error = Status(ErrorCode::kOk, "captured area is now " + std::to_string(area_.width) + "x" +
                                        std::to_string(area_.height) + "+" +
                                        std::to_string(area_.x) + "+" + std::to_string(area_.y));
    return CaptureResult::kDisplayChanged;
  }

  FramePool::Lease lease;
  if (!pool_->Acquire(&lease)) {
    *error = Status(ErrorCode::kBusy, "all " + std::to_string(pool_->size()) +
                                          " frame buffers are held by the caller: release frames");
    return CaptureResult::kErrorTemporary;
  }
  const int64_t t0 = MonotonicNs();
  auto* dib = static_cast<DibFrameBuffer*>(lease.buffer.get());
  bool ok = false;
  DWORD blt_error = 0;
  {
    ScreenDc screen;  // fetched per grab: a desktop switch invalidates an old one
    HGDIOBJ old = SelectObject(memory_dc_, dib->bitmap());
    // CAPTUREBLT: include layered (translucent) windows, as the user sees them.
    ok = screen.get() != nullptr && BitBlt(memory_dc_, 0, 0, area_.width, area_.height,
                                           screen.get(), area_.x, area_.y, SRCCOPY | CAPTUREBLT);
    if (!ok) blt_error = GetLastError();
    SelectObject(memory_dc_, old);
    GdiFlush();  // the DIB's memory holds the pixels once GDI's batch has run
  }
  const int64_t t1 = MonotonicNs();
  if (!ok) {
    pool_->Release(lease.id);
    pool_->InvalidateContent();
    *error = Status(ErrorCode::kInternal, Win32ErrorText("BitBlt from the screen", blt_error));
    return CaptureResult::kErrorTemporary;  // e.g. the secure desktop is showing
  }
  const uint64_t sequence = ++sequence_;
  pool_->SetContent(lease, sequence);
  frame->buffer = lease.buffer;
  frame->pool = pool_;
  frame->lease_id = lease.id;
  frame->size = Size{area_.width, area_.height};
  frame->stride = area_.width * 4;
  frame->origin = Point{area_.x, area_.y};
  frame->updated.assign(1, Rect{0, 0, area_.width, area_.height});
  frame->updated_rows.assign(1, RowSpan{0, area_.height});
  frame->full = force_full_;
  force_full_ = false;
  frame->sequence = sequence;
  frame->capture_time_us = RealtimeUs();
  frame->grab_ms = static_cast<double>(t1 - t0) / 1e6;
  *error = Status::Ok();
  return CaptureResult::kOk;
}

Status GdiScreenCapturer::CaptureCursor(CursorState* cursor) {
  if (closed_ || !started_) return Status(ErrorCode::kClosed, "the capturer is closed");
  return cursor_.Read(area_, cursor);
}

Status GdiScreenCapturer::GetMonitors(std::vector<Monitor>* monitors) {
  if (closed_ || !started_) return Status(ErrorCode::kClosed, "the capturer is closed");
  return EnumerateMonitors(monitors);
}

Status GdiScreenCapturer::SelectMonitor(const std::string& name) {
  if (closed_ || !started_) return Status(ErrorCode::kClosed, "the capturer is closed");
  Rect area;
  Status s = AreaForMonitor(name, &area);
  if (!s.ok()) return s;
  monitor_ = name;
  if (area == area_) return Status::Ok();
  area_ = area;
  return ResetBuffers();
}

void GdiScreenCapturer::Close() {
  if (closed_) return;
  closed_ = true;
  pool_.reset();  // leased buffers stay valid until their last holder lets go
  if (memory_dc_ != nullptr) DeleteDC(memory_dc_);
  memory_dc_ = nullptr;
}

}  // namespace tether
