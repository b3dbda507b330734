#include "platform/linux/x11_screen_capturer.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <utility>

#include "tether/clock.h"

namespace tether {

namespace {
constexpr size_t kMaxReportedRects = 64;  // beyond this, report the bounding box
}  // namespace

void X11ScreenCapturer::XImageDeleter::operator()(XImage* image) const {
  if (image == nullptr) return;
  image->data = nullptr;  // the pixels belong to a ShmFrameBuffer, not to the XImage
  XDestroyImage(image);
}

X11ScreenCapturer::X11ScreenCapturer(CapturerOptions options, bool use_damage)
    : options_(std::move(options)), use_damage_(use_damage), monitor_(options_.monitor) {
  // Without it WaitForChange still waits for the display, only Wake() cannot cut it short.
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

X11ScreenCapturer::~X11ScreenCapturer() {
  Close();
  if (wake_fd_ >= 0) close(wake_fd_);  // created in the constructor
}

Status X11ScreenCapturer::CheckOpen() const {
  if (closed_ || !conn_) return Status(ErrorCode::kClosed, "the capturer is closed");
  if (conn_->lost()) return conn_->LostStatus();
  return Status::Ok();
}

Status X11ScreenCapturer::Start() {
  if (closed_) return Status(ErrorCode::kClosed, "the capturer is closed");
  Status status;
  conn_ = XConnection::Open(options_.display, &status);
  if (!conn_) return status;
  Display* dpy = conn_->display();

  int major = 0, minor = 0;
  Bool pixmaps = False;
  int shm_opcode = 0, shm_event = 0, shm_error = 0;
  if (!XQueryExtension(dpy, "MIT-SHM", &shm_opcode, &shm_event, &shm_error) ||
      !XShmQueryVersion(dpy, &major, &minor, &pixmaps)) {
    return Status(ErrorCode::kNoXShm, "X display '" + conn_->name() +
                                          "' has no MIT-SHM extension; shared-memory capture "
                                          "needs a local X server with MIT-SHM enabled");
  }
  Visual* visual = DefaultVisual(dpy, conn_->screen());
  const int depth = DefaultDepth(dpy, conn_->screen());
  if ((depth != 24 && depth != 32) || visual->red_mask != 0xff0000 ||
      visual->green_mask != 0xff00 || visual->blue_mask != 0xff) {
    return Status(ErrorCode::kUnsupportedFormat,
                  "the X screen is not 24/32-bit TrueColor with BGRX pixels (depth " +
                      std::to_string(depth) + ")");
  }

  int error_base = 0;
  has_xfixes_ = XFixesQueryExtension(dpy, &xfixes_event_base_, &error_base) &&
                XFixesQueryVersion(dpy, &major, &minor) && major >= 2;
  if (use_damage_) {
    if (!has_xfixes_ || !XDamageQueryExtension(dpy, &damage_event_base_, &error_base)) {
      return Status(ErrorCode::kNoExtension, "X display '" + conn_->name() +
                                                 "' lacks DAMAGE or XFIXES 2: no change tracking");
    }
    damage_ = XDamageCreate(dpy, conn_->root(), XDamageReportNonEmpty);
    damage_region_ = XFixesCreateRegion(dpy, nullptr, 0);
  }
  if (has_xfixes_) {
    XFixesSelectCursorInput(dpy, conn_->root(), XFixesDisplayCursorNotifyMask);
  }
  // Pointer motion as events (XInput 2.2), so that the pointer is followed without polling: raw
  // motion, from every device (also XTest's). Raw events go to every client that selects them and
  // take nothing from anyone (a motion selection on the root window would: the server stops at the
  // first selection that takes an event, so window managers would lose their core motion). Warps
  // make no raw motion: those are seen at the next change or repeat. Without XInput 2 the caller
  // polls (pointer_events() false).
  int xi_event = 0, xi_error = 0, xi_major = 2, xi_minor = 2;
  if (XQueryExtension(dpy, "XInputExtension", &xi_opcode_, &xi_event, &xi_error) &&
      XIQueryVersion(dpy, &xi_major, &xi_minor) == 0 &&
      (xi_major > 2 || (xi_major == 2 && xi_minor >= 2))) {
    unsigned char bits[XIMaskLen(XI_LASTEVENT)] = {};
    XISetMask(bits, XI_RawMotion);
    XIEventMask mask{};
    mask.deviceid = XIAllMasterDevices;
    mask.mask_len = sizeof bits;
    mask.mask = bits;
    XErrorTrap trap(dpy);
    XISelectEvents(dpy, conn_->root(), &mask, 1);
    XSync(dpy, False);
    has_xi2_ = trap.error_code() == 0;
  }
  has_randr_ = XRRQueryExtension(dpy, &randr_event_base_, &error_base);
  if (has_randr_) XRRSelectInput(dpy, conn_->root(), RRScreenChangeNotifyMask);

  Status s = ComputeArea(monitor_, &area_);
  if (!s.ok()) return s;
  s = ResetBuffers();
  if (s.ok()) x_fd_.store(ConnectionNumber(dpy));
  return s;
}

bool X11ScreenCapturer::ChangePending() {
  if (!CheckOpen().ok()) return true;  // CaptureFrame says what is wrong
  ProcessEvents();                     // XPending: flushes requests, reads what has arrived
  const bool pointer_due =
      pointer_moved_ && MonotonicNs() - last_cursor_ns_ >= int64_t{kCursorIntervalMs} * 1000000;
  return conn_->lost() || !use_damage_ || damage_pending_ || cursor_dirty_ || geometry_dirty_ ||
         force_full_ || pointer_due;
}

int X11ScreenCapturer::HeldBackMs() {
  if (!pointer_moved_) return -1;
  const int64_t left = last_cursor_ns_ + int64_t{kCursorIntervalMs} * 1000000 - MonotonicNs();
  return left <= 0 ? 0 : static_cast<int>((left + 999999) / 1000000);
}

bool X11ScreenCapturer::WaitForChange(int timeout_ms) {
  // Only poll(): no Xlib call and no capture state, so this may run beside any other method. If
  // Close() has just closed the socket, poll reports POLLNVAL at once and the caller sees closed.
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {x_fd_.load(), POLLIN, 0}};
  int r;
  do {
    r = poll(fds, fds[1].fd >= 0 ? 2 : 1, std::max(0, timeout_ms));
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return false;
  if ((fds[0].revents & POLLIN) != 0) {
    uint64_t count = 0;
    if (read(wake_fd_, &count, sizeof count) < 0) count = 0;  // drained; EAGAIN when raced
  }
  return true;
}

void X11ScreenCapturer::Wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) return;  // EAGAIN: already signalled
}

Status X11ScreenCapturer::ComputeArea(const std::string& monitor, Rect* area) {
  Display* dpy = conn_->display();
  const Rect screen{0, 0, DisplayWidth(dpy, conn_->screen()), DisplayHeight(dpy, conn_->screen())};
  if (monitor.empty()) {
    *area = screen;
    return Status::Ok();
  }
  std::vector<Monitor> monitors;
  Status s = GetMonitors(&monitors);
  if (!s.ok()) return s;
  std::string known;
  for (const Monitor& m : monitors) {
    if (m.name == monitor) {
      *area = m.bounds.Intersect(screen);
      if (area->empty()) break;
      return Status::Ok();
    }
    known += (known.empty() ? "" : ", ") + m.name;
  }
  return Status(ErrorCode::kBadArgument,
                "no monitor named '" + monitor + "' (monitors: " + known + ")");
}

Status X11ScreenCapturer::ResetBuffers() {
  Display* dpy = conn_->display();
  for (auto& b : buffers_) b->DetachFromServer(dpy);
  buffers_.clear();
  history_.Clear();
  image_template_.reset(XShmCreateImage(dpy, DefaultVisual(dpy, conn_->screen()),
                                        DefaultDepth(dpy, conn_->screen()), ZPixmap, nullptr,
                                        nullptr, area_.width, area_.height));
  if (!image_template_ || image_template_->bits_per_pixel != 32) {
    return Status(ErrorCode::kUnsupportedFormat, "the X server's images are not 32 bits per pixel");
  }
  stride_ = image_template_->bytes_per_line;
  const size_t bytes = static_cast<size_t>(stride_) * area_.height;
  // The factory runs inside FramePool::Acquire on the capture thread, under the capturer's lock.
  auto factory = [this](size_t n) -> std::shared_ptr<FrameBuffer> {
    std::shared_ptr<ShmFrameBuffer> b = ShmFrameBuffer::Create(conn_->display(), n, &alloc_error_);
    if (b) buffers_.push_back(b);
    return b;
  };
  pool_ = std::make_shared<FramePool>(factory, bytes, std::max<size_t>(1, options_.max_buffers));
  // Make the first buffer now: a server that cannot attach shared memory fails Start(), not later.
  FramePool::Lease lease;
  if (!pool_->Acquire(&lease)) {
    return alloc_error_.ok() ? Status(ErrorCode::kInternal, "cannot allocate a frame buffer")
                             : alloc_error_;
  }
  pool_->Release(lease.id);
  damage_pending_ = true;
  force_full_ = true;
  return Status::Ok();
}

void X11ScreenCapturer::ProcessEvents() {
  Display* dpy = conn_->display();
  while (!conn_->lost() && XPending(dpy) > 0) {
    XEvent event;
    XNextEvent(dpy, &event);
    if (use_damage_ && event.type == damage_event_base_ + XDamageNotify) {
      damage_pending_ = true;
    } else if (has_xfixes_ && event.type == xfixes_event_base_ + XFixesCursorNotify) {
      cursor_dirty_ = true;
    } else if (has_xi2_ && event.type == GenericEvent && event.xcookie.extension == xi_opcode_) {
      pointer_moved_ = true;  // the event's data is not needed (XNextEvent frees it)
    } else if (has_randr_ && event.type == randr_event_base_ + RRScreenChangeNotify) {
      XRRUpdateConfiguration(&event);  // refreshes DisplayWidth/DisplayHeight
      geometry_dirty_ = true;
    }
  }
}

std::vector<Rect> X11ScreenCapturer::FetchDamage(bool* full) {
  std::vector<Rect> rects;
  *full = false;
  if (!use_damage_) {
    *full = true;
    rects.push_back(Rect{0, 0, area_.width, area_.height});
    return rects;
  }
  if (!damage_pending_) return rects;
  damage_pending_ = false;
  Display* dpy = conn_->display();
  // Subtract before grabbing: whatever is drawn after this point is reported next time.
  XDamageSubtract(dpy, damage_, None, damage_region_);
  int count = 0;
  XUniquePtr<XRectangle> boxes(XFixesFetchRegion(dpy, damage_region_, &count));
  for (int i = 0; i < count; ++i) {
    const XRectangle& b = boxes.get()[i];
    Rect r = Rect{b.x, b.y, b.width, b.height}.Intersect(area_);
    if (r.empty()) continue;
    rects.push_back(Rect{r.x - area_.x, r.y - area_.y, r.width, r.height});
  }
  if (rects.size() > kMaxReportedRects) {
    Rect box = rects.front();
    for (const Rect& r : rects) {
      const int32_t l = std::min(box.x, r.x), t = std::min(box.y, r.y);
      const int32_t rr = std::max(box.right(), r.right()), bb = std::max(box.bottom(), r.bottom());
      box = Rect{l, t, rr - l, bb - t};
    }
    rects.assign(1, box);
  }
  return rects;
}

bool X11ScreenCapturer::GrabRows(ShmFrameBuffer* buffer, int32_t begin, int32_t end) {
  XImage band = *image_template_;  // a view: same width and stride, `end - begin` rows
  band.height = end - begin;
  band.data = reinterpret_cast<char*>(buffer->data() + static_cast<size_t>(begin) * stride_);
  band.obdata = reinterpret_cast<XPointer>(buffer->info());
  return XShmGetImage(conn_->display(), conn_->root(), &band, area_.x, area_.y + begin, AllPlanes);
}

CaptureResult X11ScreenCapturer::CaptureFrame(Frame* frame, Status* error) {
  Status open = CheckOpen();
  if (!open.ok()) {
    *error = open;
    return CaptureResult::kErrorPermanent;
  }
  ProcessEvents();
  if (conn_->lost()) {
    *error = conn_->LostStatus();
    return CaptureResult::kErrorPermanent;
  }
  if (geometry_dirty_) {
    geometry_dirty_ = false;
    Rect area;
    Status s = ComputeArea(monitor_, &area);
    if (!s.ok() && s.code() == ErrorCode::kBadArgument) {
      monitor_.clear();  // the monitor went away: go on with the whole screen
      s = ComputeArea(monitor_, &area);
    }
    if (!s.ok()) {
      *error = s;
      return CaptureResult::kErrorPermanent;
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
  }

  FramePool::Lease lease;
  if (!pool_->Acquire(&lease)) {
    *error = Status(ErrorCode::kBusy, "all " + std::to_string(pool_->size()) +
                                          " frame buffers are held by the caller: release frames");
    return CaptureResult::kErrorTemporary;
  }
  const int64_t t0 = MonotonicNs();  // grab_ms covers the damage round trip and the grab
  bool full = false;
  std::vector<Rect> updated = FetchDamage(&full);
  if (force_full_) {  // first frame, or the first after a geometry change
    force_full_ = false;
    full = true;
    updated.assign(1, Rect{0, 0, area_.width, area_.height});
  }
  const uint64_t sequence = ++sequence_;
  std::vector<RowSpan> rows = RowSpansOf(updated, area_.height);
  history_.Add(sequence, rows);
  bool all = false;
  std::vector<RowSpan> grab = history_.Since(lease.content_sequence, area_.height, &all);
  if (all) grab.assign(1, RowSpan{0, area_.height});  // a new or too stale buffer: grab it all

  auto* shm = static_cast<ShmFrameBuffer*>(lease.buffer.get());
  int x_error = 0;
  {
    XErrorTrap trap(conn_->display());
    bool ok = true;
    for (const RowSpan& r : grab) ok = ok && GrabRows(shm, r.begin, r.end);
    x_error = trap.error_code();
    if (!ok && x_error == 0) x_error = -1;
  }
  const int64_t t1 = MonotonicNs();
  if (x_error != 0 || conn_->lost()) {
    pool_->Release(lease.id);
    if (conn_->lost()) {
      *error = conn_->LostStatus();
      return CaptureResult::kErrorPermanent;
    }
    geometry_dirty_ = true;  // usually BadMatch: the screen shrank under us
    pool_->InvalidateContent();
    *error = Status(ErrorCode::kInternal,
                    "XShmGetImage failed (X error " + std::to_string(x_error) + "); retrying");
    return CaptureResult::kErrorTemporary;
  }
  pool_->SetContent(lease, sequence);

  frame->buffer = lease.buffer;
  frame->pool = pool_;
  frame->lease_id = lease.id;
  frame->size = Size{area_.width, area_.height};
  frame->stride = stride_;
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

Status X11ScreenCapturer::CaptureCursor(CursorState* cursor) {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  ProcessEvents();
  pointer_moved_ = false;  // this reads the position: motion so far is reported
  last_cursor_ns_ = MonotonicNs();
  Display* dpy = conn_->display();
  cursor->shape_changed = false;
  if (has_xfixes_ && cursor_dirty_) {
    XErrorTrap trap(dpy);
    XUniquePtr<XFixesCursorImage> image(XFixesGetCursorImage(dpy));
    if (image) {
      cursor_dirty_ = false;
      cursor->position = Point{image->x - area_.x, image->y - area_.y};
      if (image->cursor_serial != cursor_serial_) {
        cursor_serial_ = image->cursor_serial;
        CursorShape& shape = cursor->shape;
        shape.width = image->width;
        shape.height = image->height;
        shape.hot_x = image->xhot;
        shape.hot_y = image->yhot;
        shape.serial = image->cursor_serial;
        // XFixes hands each pixel as an unsigned long (0xAARRGGBB, premultiplied): repack it
        // into 4 bytes B,G,R,A, the frames' order. A copy, but of a cursor-sized image.
        const size_t n = static_cast<size_t>(image->width) * image->height;
        shape.pixels.resize(n * 4);
        for (size_t i = 0; i < n; ++i) {
          const unsigned long p = image->pixels[i];
          shape.pixels[i * 4 + 0] = static_cast<uint8_t>(p & 0xff);
          shape.pixels[i * 4 + 1] = static_cast<uint8_t>((p >> 8) & 0xff);
          shape.pixels[i * 4 + 2] = static_cast<uint8_t>((p >> 16) & 0xff);
          shape.pixels[i * 4 + 3] = static_cast<uint8_t>((p >> 24) & 0xff);
        }
        cursor->shape_changed = true;
      }
      cursor->visible = area_.Contains(image->x, image->y);
      return Status::Ok();
    }
  }
  Window root_return = 0, child = 0;
  int root_x = 0, root_y = 0, win_x = 0, win_y = 0;
  unsigned int mask = 0;
  if (!XQueryPointer(dpy, conn_->root(), &root_return, &child, &root_x, &root_y, &win_x, &win_y,
                     &mask)) {
    cursor->visible = false;
    return Status::Ok();  // the pointer is on another screen
  }
  if (conn_->lost()) return conn_->LostStatus();
  cursor->position = Point{root_x - area_.x, root_y - area_.y};
  cursor->visible = area_.Contains(root_x, root_y);
  return Status::Ok();
}

Status X11ScreenCapturer::GetMonitors(std::vector<Monitor>* monitors) {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  Display* dpy = conn_->display();
  monitors->clear();
  int major = 0, minor = 0;
  if (has_randr_ && XRRQueryVersion(dpy, &major, &minor) && (major > 1 || minor >= 5)) {
    int count = 0;
    std::unique_ptr<XRRMonitorInfo, void (*)(XRRMonitorInfo*)> list(
        XRRGetMonitors(dpy, conn_->root(), True, &count), XRRFreeMonitors);
    for (int i = 0; list && i < count; ++i) {
      const XRRMonitorInfo& m = list.get()[i];
      XUniquePtr<char> name(XGetAtomName(dpy, m.name));
      monitors->push_back(Monitor{name ? name.get() : "monitor-" + std::to_string(i),
                                  Rect{m.x, m.y, m.width, m.height}, m.primary != 0});
    }
  }
  if (monitors->empty()) {
    monitors->push_back(Monitor{
        "screen",
        Rect{0, 0, DisplayWidth(dpy, conn_->screen()), DisplayHeight(dpy, conn_->screen())}, true});
  }
  std::stable_partition(monitors->begin(), monitors->end(),
                        [](const Monitor& m) { return m.primary; });
  if (conn_->lost()) return conn_->LostStatus();
  return Status::Ok();
}

Status X11ScreenCapturer::SelectMonitor(const std::string& name) {
  Status open = CheckOpen();
  if (!open.ok()) return open;
  ProcessEvents();
  Rect area;
  Status s = ComputeArea(name, &area);
  if (!s.ok()) return s;
  monitor_ = name;
  if (area == area_) return Status::Ok();
  area_ = area;
  return ResetBuffers();
}

void X11ScreenCapturer::Close() {
  if (closed_) return;
  closed_ = true;
  if (!conn_) return;
  Display* dpy = conn_->display();
  if (!conn_->lost()) {
    XErrorTrap trap(dpy);
    for (auto& b : buffers_) b->DetachFromServer(dpy);
    if (damage_ != 0) XDamageDestroy(dpy, damage_);
    if (damage_region_ != 0) XFixesDestroyRegion(dpy, damage_region_);
    trap.Sync();
  }
  buffers_.clear();  // leased buffers stay mapped until their last holder lets go
  damage_ = 0;
  damage_region_ = 0;
  image_template_.reset();
  pool_.reset();
  x_fd_.store(-1);
  conn_.reset();  // XCloseDisplay
}

}  // namespace tether
