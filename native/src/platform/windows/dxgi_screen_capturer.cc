#include "platform/windows/dxgi_screen_capturer.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "platform/windows/win_util.h"
#include "tether/clock.h"
#include "tether/duplication_rects.h"

namespace tether {

namespace {

constexpr size_t kMaxReportedRects = 64;  // beyond this, report the bounding box

// Heap pixels for a frame: the staging textures are mapped only while rows are copied out.
class HeapFrameBuffer final : public FrameBuffer {
 public:
  explicit HeapFrameBuffer(size_t bytes) : data_(new uint8_t[bytes]()), bytes_(bytes) {}
  uint8_t* data() override { return data_.get(); }
  size_t capacity() const override { return bytes_; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t bytes_;
};

Rect FromRect(const RECT& r) {
  return Rect{r.left, r.top, r.right - r.left, r.bottom - r.top};
}

int64_t NowMs() {
  return MonotonicNs() / 1000000;
}

ReopenPolicy::Outcome OutcomeOf(HRESULT hr) {
  if (hr == DXGI_ERROR_WAIT_TIMEOUT) return ReopenPolicy::Outcome::kTimeout;
  if (SUCCEEDED(hr)) return ReopenPolicy::Outcome::kFrame;
  if (hr == DXGI_ERROR_ACCESS_LOST) return ReopenPolicy::Outcome::kAccessLost;
  return ReopenPolicy::Outcome::kError;
}

}  // namespace

DxgiScreenCapturer::DxgiScreenCapturer(CapturerOptions options)
    : options_(std::move(options)), monitor_(options_.monitor) {}

DxgiScreenCapturer::~DxgiScreenCapturer() {
  Close();
}

Status DxgiScreenCapturer::Start() {
  if (closed_) return Status(ErrorCode::kClosed, "the capturer is closed");
  ScopedDpiAwareness dpi;
  Status s = AreaForMonitor(monitor_, &area_);
  if (!s.ok()) return s;
  s = OpenOutputs();
  if (!s.ok()) return s;
  s = ResetBuffers();
  if (s.ok()) started_ = true;
  return s;
}

Status DxgiScreenCapturer::OpenOutputs() {
  outputs_.clear();
  ComPtr<IDXGIFactory1> factory;
  HRESULT hr = CreateDXGIFactory1(__uuidof(IDXGIFactory1), &factory);
  if (FAILED(hr)) {
    return Status(ErrorCode::kNoExtension, Win32ErrorText("CreateDXGIFactory1", hr));
  }
  std::string why = "no output of any adapter intersects the captured area";
  ComPtr<IDXGIAdapter1> adapter;
  for (UINT a = 0; factory->EnumAdapters1(a, &adapter) != DXGI_ERROR_NOT_FOUND; ++a) {
    ComPtr<IDXGIOutput> output;
    for (UINT o = 0; adapter->EnumOutputs(o, &output) != DXGI_ERROR_NOT_FOUND; ++o) {
      DXGI_OUTPUT_DESC desc{};
      if (FAILED(output->GetDesc(&desc)) || !desc.AttachedToDesktop) continue;
      const Rect bounds = FromRect(desc.DesktopCoordinates);
      if (bounds.Intersect(area_).empty()) continue;
      const std::string name = Utf8FromWide(desc.DeviceName);
      if (desc.Rotation != DXGI_MODE_ROTATION_IDENTITY &&
          desc.Rotation != DXGI_MODE_ROTATION_UNSPECIFIED) {
        outputs_.clear();  // rotated images are not turned back here: GDI captures those
        return Status(ErrorCode::kNoExtension, "output " + name + " is rotated");
      }
      Output out;
      out.name = name;
      out.bounds = bounds;
      const D3D_FEATURE_LEVEL levels[] = {D3D_FEATURE_LEVEL_11_0, D3D_FEATURE_LEVEL_10_1,
                                          D3D_FEATURE_LEVEL_10_0, D3D_FEATURE_LEVEL_9_1};
      hr = D3D11CreateDevice(adapter.Get(), D3D_DRIVER_TYPE_UNKNOWN, nullptr,
                             D3D11_CREATE_DEVICE_BGRA_SUPPORT, levels, ARRAYSIZE(levels),
                             D3D11_SDK_VERSION, &out.device, nullptr, &out.context);
      if (FAILED(hr)) {
        why = Win32ErrorText("D3D11CreateDevice", hr);
        continue;
      }
      ComPtr<IDXGIOutput1> output1;
      hr = output.As(&output1);
      if (SUCCEEDED(hr)) hr = output1->DuplicateOutput(out.device.Get(), &out.duplication);
      if (FAILED(hr)) {  // E_NOTIMPL under Wine; E_ACCESSDENIED on the secure desktop
        why = Win32ErrorText("DuplicateOutput(" + name + ")", hr);
        continue;
      }
      outputs_.push_back(std::move(out));
    }
  }
  if (outputs_.empty()) return Status(ErrorCode::kNoExtension, "no desktop duplication: " + why);
  return Status::Ok();
}

Status DxgiScreenCapturer::ResetBuffers() {
  history_.Clear();
  const size_t bytes = static_cast<size_t>(area_.width) * 4 * area_.height;
  auto factory = [](size_t n) -> std::shared_ptr<FrameBuffer> {
    return std::make_shared<HeapFrameBuffer>(n);
  };
  pool_ = std::make_shared<FramePool>(factory, bytes, std::max<size_t>(1, options_.max_buffers));
  for (Output& out : outputs_) out.staging.Reset();
  force_full_ = true;
  cursor_.Reset();
  return Status::Ok();
}

HRESULT DxgiScreenCapturer::TakeFrame(Output* out, std::vector<Rect>* damage) {
  DXGI_OUTDUPL_FRAME_INFO info{};
  ComPtr<IDXGIResource> resource;
  HRESULT hr = out->duplication->AcquireNextFrame(0, &info, &resource);
  if (FAILED(hr)) return hr;  // DXGI_ERROR_WAIT_TIMEOUT: nothing new
  // Release the frame however this ends: the compositor holds further updates until then.
  struct Release {
    IDXGIOutputDuplication* d;
    ~Release() { d->ReleaseFrame(); }
  } release{out->duplication.Get()};
  DuplicatedFrame frame;
  frame.first = !out->staging;
  frame.image_updated = info.LastPresentTime.QuadPart != 0;
  if (!frame.first && !frame.image_updated) return S_OK;  // only the pointer moved
  ComPtr<ID3D11Texture2D> image;
  hr = resource.As(&image);
  if (FAILED(hr)) return hr;
  if (frame.first) {
    D3D11_TEXTURE2D_DESC desc{};
    image->GetDesc(&desc);
    desc.Usage = D3D11_USAGE_STAGING;
    desc.BindFlags = 0;
    desc.CPUAccessFlags = D3D11_CPU_ACCESS_READ;
    desc.MiscFlags = 0;
    desc.MipLevels = 1;
    desc.ArraySize = 1;
    desc.SampleDesc = {1, 0};
    hr = out->device->CreateTexture2D(&desc, nullptr, &out->staging);
    if (FAILED(hr)) return hr;
  } else if (info.TotalMetadataBufferSize > 0) {
    metadata_.resize(info.TotalMetadataBufferSize);
    UINT moves_bytes = 0, dirty_bytes = 0;
    hr = out->duplication->GetFrameMoveRects(
        static_cast<UINT>(metadata_.size()),
        reinterpret_cast<DXGI_OUTDUPL_MOVE_RECT*>(metadata_.data()), &moves_bytes);
    if (FAILED(hr)) return hr;
    const auto* moves = reinterpret_cast<const DXGI_OUTDUPL_MOVE_RECT*>(metadata_.data());
    for (UINT i = 0; i < moves_bytes / sizeof(DXGI_OUTDUPL_MOVE_RECT); ++i) {
      frame.moves.push_back(MoveRect{Point{moves[i].SourcePoint.x, moves[i].SourcePoint.y},
                                     FromRect(moves[i].DestinationRect)});
    }
    hr = out->duplication->GetFrameDirtyRects(
        static_cast<UINT>(metadata_.size() - moves_bytes),
        reinterpret_cast<RECT*>(metadata_.data() + moves_bytes), &dirty_bytes);
    if (FAILED(hr)) return hr;
    const auto* dirty = reinterpret_cast<const RECT*>(metadata_.data() + moves_bytes);
    for (UINT i = 0; i < dirty_bytes / sizeof(RECT); ++i) frame.dirty.push_back(FromRect(dirty[i]));
  }
  // The rules (what to copy, what the frame reports as changed) are portable and unit-tested.
  const DuplicationChange change = ChangeOfFrame(out->bounds, area_, frame);
  for (const Rect& r : change.copy) {
    D3D11_BOX box{static_cast<UINT>(r.x),       static_cast<UINT>(r.y),        0,
                  static_cast<UINT>(r.right()), static_cast<UINT>(r.bottom()), 1};
    out->context->CopySubresourceRegion(out->staging.Get(), 0, box.left, box.top, 0, image.Get(), 0,
                                        &box);
  }
  damage->insert(damage->end(), change.damage.begin(), change.damage.end());
  return S_OK;
}

bool DxgiScreenCapturer::ReadRows(uint8_t* dst, int32_t begin, int32_t end) {
  const int32_t stride = area_.width * 4;
  for (Output& out : outputs_) {
    if (!out.staging) continue;
    const Rect rows{area_.x, area_.y + begin, area_.width, end - begin};
    const Rect part = rows.Intersect(out.bounds);  // screen coordinates
    if (part.empty()) continue;
    D3D11_MAPPED_SUBRESOURCE mapped{};
    if (FAILED(out.context->Map(out.staging.Get(), 0, D3D11_MAP_READ, 0, &mapped))) return false;
    const auto* src = static_cast<const uint8_t*>(mapped.pData);
    for (int32_t y = part.y; y < part.bottom(); ++y) {
      const uint8_t* from = src + static_cast<size_t>(y - out.bounds.y) * mapped.RowPitch +
                            static_cast<size_t>(part.x - out.bounds.x) * 4;
      uint8_t* to = dst + static_cast<size_t>(y - area_.y) * stride +
                    static_cast<size_t>(part.x - area_.x) * 4;
      std::memcpy(to, from, static_cast<size_t>(part.width) * 4);
    }
    out.context->Unmap(out.staging.Get(), 0);
  }
  return true;
}

CaptureResult DxgiScreenCapturer::CaptureFrame(Frame* frame, Status* error) {
  if (closed_ || !started_) {
    *error = Status(ErrorCode::kClosed, "the capturer is closed");
    return CaptureResult::kErrorPermanent;
  }
  ScopedDpiAwareness dpi;
  Rect area;
  Status s = AreaForMonitor(monitor_, &area);
  if (s.code() == ErrorCode::kBadArgument) {
    monitor_.clear();
    s = AreaForMonitor(monitor_, &area);
  }
  if (!s.ok()) {
    *error = s;
    return CaptureResult::kErrorTemporary;
  }
  const int64_t now = NowMs();
  if (area != area_) {
    area_ = area;
    s = OpenOutputs();
    reopen_.Reopened(s.ok(), now);
    if (!s.ok()) {
      *error = Status(ErrorCode::kInternal, "re-creating the desktop duplication: " + s.message());
      return CaptureResult::kErrorTemporary;
    }
    ResetBuffers();
    *error = Status(ErrorCode::kOk, "captured area is now " + std::to_string(area_.width) + "x" +
                                        std::to_string(area_.height) + "+" +
                                        std::to_string(area_.x) + "+" + std::to_string(area_.y));
    return CaptureResult::kDisplayChanged;
  }
  switch (reopen_.Next(now)) {
    case ReopenPolicy::Action::kCapture:
      break;
    case ReopenPolicy::Action::kWait:
      *error = Status(ErrorCode::kInternal,
                      "the desktop duplication is lost (" + std::to_string(reopen_.failures()) +
                          " failures in a row); re-creating it in " +
                          std::to_string(reopen_.retry_at_ms() - now) + " ms");
      return CaptureResult::kErrorTemporary;
    case ReopenPolicy::Action::kReopen:
      s = OpenOutputs();  // fails while the secure desktop shows
      reopen_.Reopened(s.ok(), now);
      if (!s.ok()) {
        *error =
            Status(ErrorCode::kInternal, "re-creating the desktop duplication: " + s.message());
        return CaptureResult::kErrorTemporary;
      }
      ResetBuffers();
      break;
  }

  FramePool::Lease lease;
  if (!pool_->Acquire(&lease)) {
    *error = Status(ErrorCode::kBusy, "all " + std::to_string(pool_->size()) +
                                          " frame buffers are held by the caller: release frames");
    return CaptureResult::kErrorTemporary;
  }
  const int64_t t0 = MonotonicNs();
  std::vector<Rect> updated;
  for (Output& out : outputs_) {
    const HRESULT hr = TakeFrame(&out, &updated);
    if (hr == DXGI_ERROR_WAIT_TIMEOUT || SUCCEEDED(hr)) continue;
    pool_->Release(lease.id);
    reopen_.Captured(OutcomeOf(hr), now);  // DXGI_ERROR_ACCESS_LOST and anything else
    *error = Status(ErrorCode::kInternal, Win32ErrorText("AcquireNextFrame(" + out.name + ")", hr));
    return CaptureResult::kErrorTemporary;
  }
  bool full = false;
  if (force_full_) {
    force_full_ = false;
    full = true;
    updated.assign(1, Rect{0, 0, area_.width, area_.height});
  }
  CapRects(&updated, kMaxReportedRects);
  const uint64_t sequence = ++sequence_;
  std::vector<RowSpan> rows = RowSpansOf(updated, area_.height);
  history_.Add(sequence, rows);
  bool all = false;
  std::vector<RowSpan> copy = history_.Since(lease.content_sequence, area_.height, &all);
  if (all) copy.assign(1, RowSpan{0, area_.height});
  bool ok = true;
  for (const RowSpan& r : copy) ok = ok && ReadRows(lease.buffer->data(), r.begin, r.end);
  const int64_t t1 = MonotonicNs();
  if (!ok) {
    pool_->Release(lease.id);
    pool_->InvalidateContent();
    reopen_.Captured(ReopenPolicy::Outcome::kError, now);
    *error = Status(ErrorCode::kInternal, "mapping a staging texture failed; re-creating");
    return CaptureResult::kErrorTemporary;
  }
  reopen_.Captured(ReopenPolicy::Outcome::kFrame, now);  // a frame or, for every output, a timeout
  pool_->SetContent(lease, sequence);
  frame->buffer = lease.buffer;
  frame->pool = pool_;
  frame->lease_id = lease.id;
  frame->size = Size{area_.width, area_.height};
  frame->stride = area_.width * 4;
  frame->origin = Point{area_.x, area_.y};
  frame->updated = std::move(updated);
  frame->updated_rows = std::move(rows);
  frame->full = full;
  frame->sequence = sequence;
  frame->capture_time_us = RealtimeUs();
  frame->grab_ms = static_cast<double>(t1 - t0) / 1e6;
  *error = Status::Ok();
  return CaptureResult::kOk;
}

Status DxgiScreenCapturer::CaptureCursor(CursorState* cursor) {
  if (closed_ || !started_) return Status(ErrorCode::kClosed, "the capturer is closed");
  return cursor_.Read(area_, cursor);
}

Status DxgiScreenCapturer::GetMonitors(std::vector<Monitor>* monitors) {
  if (closed_ || !started_) return Status(ErrorCode::kClosed, "the capturer is closed");
  return EnumerateMonitors(monitors);
}

Status DxgiScreenCapturer::SelectMonitor(const std::string& name) {
  if (closed_ || !started_) return Status(ErrorCode::kClosed, "the capturer is closed");
  Rect area;
  Status s = AreaForMonitor(name, &area);
  if (!s.ok()) return s;
  monitor_ = name;
  if (area == area_) return Status::Ok();
  area_ = area;
  s = OpenOutputs();
  reopen_.Reopened(s.ok(), NowMs());  // when it failed, the next capture tries again
  return ResetBuffers();
}

void DxgiScreenCapturer::Close() {
  if (closed_) return;
  closed_ = true;
  outputs_.clear();  // releases duplications, textures, contexts and devices
  pool_.reset();
}

}  // namespace tether
