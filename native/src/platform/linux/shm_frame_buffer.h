// A frame buffer in System V shared memory, attached to the X server for XShmGetImage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "platform/linux/x11_headers.h"
#include "tether/frame.h"
#include "tether/status.h"

namespace tether {

// Owns the segment mapping (shmdt on destruction). The X server's attachment is separate: it is an
// X resource that ShmFrameBuffer::Attach creates and DetachFromServer drops while the display is
// open; closing the display drops it too. The segment is marked IPC_RMID as soon as both sides are
// attached, so it disappears when the last of them lets go (no leak if the process dies).
// Thread: created and detached under the capturer's lock; data() read from any thread.
class ShmFrameBuffer final : public FrameBuffer {
 public:
  // shmget -> shmat -> XShmAttach -> XSync -> IPC_RMID. kNoXShm if the server cannot attach
  // (a remote display), kInternal if the kernel refuses the segment.
  static std::shared_ptr<ShmFrameBuffer> Create(Display* display, size_t bytes, Status* status);
  ~ShmFrameBuffer() override;

  uint8_t* data() override { return static_cast<uint8_t*>(static_cast<void*>(info_.shmaddr)); }
  size_t capacity() const override { return bytes_; }
  XShmSegmentInfo* info() { return &info_; }
  // XShmDetach while `display` is still open. Idempotent.
  void DetachFromServer(Display* display);

 private:
  ShmFrameBuffer() = default;
  XShmSegmentInfo info_{};
  size_t bytes_ = 0;
  bool server_attached_ = false;
};

}  // namespace tether
