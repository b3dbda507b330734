// X11 screen capture: XShm grabs, optional XDamage change tracking, XFixes cursor, XRandR monitors.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "platform/linux/shm_frame_buffer.h"
#include "platform/linux/x11_connection.h"
#include "platform/linux/x11_headers.h"
#include "tether/damage_history.h"
#include "tether/frame_pool.h"
#include "tether/screen_capturer.h"

namespace tether {

// With `use_damage`, Start() fails with kNoExtension when the server lacks DAMAGE or XFIXES 2, so
// that FallbackScreenCapturer can switch to an instance without it (every frame a full grab).
// Grabs go by whole-row bands: a full-width band is contiguous in the strided shared-memory buffer,
// so XShmGetImage writes it in place, no copy.
class X11ScreenCapturer final : public ScreenCapturer {
 public:
  X11ScreenCapturer(CapturerOptions options, bool use_damage);
  ~X11ScreenCapturer() override;

  Status Start() override;
  CaptureResult CaptureFrame(Frame* frame, Status* error) override;
  Status CaptureCursor(CursorState* cursor) override;
  Status GetMonitors(std::vector<Monitor>* monitors) override;
  Status SelectMonitor(const std::string& name) override;
  Rect capture_area() const override { return area_; }
  bool damage_tracking() const override { return use_damage_; }
  void Close() override;
  bool ChangePending() override;
  bool pointer_events() const override { return has_xi2_; }
  int HeldBackMs() override;
  bool WaitForChange(int timeout_ms) override;
  void Wake() override;

 private:
  struct XImageDeleter {
    void operator()(XImage* image) const;
  };

  Status CheckOpen() const;
  // Reads pending events: damage, cursor and RandR notifications.
  void ProcessEvents();
  // Computes the area for monitor_ (whole screen when ""). kBadArgument for an unknown monitor.
  Status ComputeArea(const std::string& monitor, Rect* area);
  // Drops the buffers and template for the old geometry and prepares them for area_.
  Status ResetBuffers();
  // Damage since the previous frame, clipped to area_ and in frame coordinates.
  std::vector<Rect> FetchDamage(bool* full);
  bool GrabRows(ShmFrameBuffer* buffer, int32_t begin, int32_t end);

  CapturerOptions options_;
  const bool use_damage_;
  std::unique_ptr<XConnection> conn_;
  bool closed_ = false;

  int damage_event_base_ = 0;
  int xfixes_event_base_ = 0;
  int randr_event_base_ = 0;
  bool has_xfixes_ = false;
  bool has_randr_ = false;
  bool has_xi2_ = false;  // XInput 2.2: pointer motion arrives as events
  int xi_opcode_ = 0;
  bool pointer_moved_ = false;       // motion since the last CaptureCursor
  int64_t last_cursor_ns_ = 0;       // when CaptureCursor last ran
  Damage damage_ = 0;                // owned: XDamageDestroy in Close()
  XserverRegion damage_region_ = 0;  // owned: XFixesDestroyRegion in Close()
  bool damage_pending_ = true;
  bool cursor_dirty_ = true;
  bool geometry_dirty_ = false;
  bool force_full_ = true;
  Status alloc_error_;

  std::string monitor_;
  Rect area_;
  int32_t stride_ = 0;
  std::unique_ptr<XImage, XImageDeleter> image_template_;  // geometry only; data set per grab
  std::shared_ptr<FramePool> pool_;
  std::vector<std::shared_ptr<ShmFrameBuffer>> buffers_;  // server attachments to detach
  DamageHistory history_;
  uint64_t sequence_ = 0;
  uint64_t cursor_serial_ = 0;
  // For WaitForChange/Wake, read without the caller's lock: the X connection's socket (-1 when
  // closed) and an eventfd that Wake() signals (owned; closed in the destructor, never earlier).
  std::atomic<int> x_fd_{-1};
  int wake_fd_ = -1;
};

}  // namespace tether
