// A small pool of frame buffers that are leased out and returned. Portable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "tether/frame.h"

namespace tether {

// Thread: every method is safe from any thread (a mutex inside). Frames leased to JavaScript are
// released from the JS thread (frame.release() or the ArrayBuffer finalizer) while the capture
// thread leases the next one.
class FramePool {
 public:
  // Makes a buffer of `bytes`; returns nullptr on failure. Called with the pool's lock held.
  using Factory = std::function<std::shared_ptr<FrameBuffer>(size_t bytes)>;

  struct Lease {
    std::shared_ptr<FrameBuffer> buffer;
    uint64_t id = 0;                // pass to Release()
    uint64_t content_sequence = 0;  // frame sequence whose pixels the buffer holds; 0 = none
    size_t slot = 0;
  };

  FramePool(Factory factory, size_t buffer_bytes, size_t max_buffers);
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;

  // Leases a free buffer, preferring the one holding the newest content; makes a new one while
  // fewer than max_buffers exist. Returns false when all are leased (or the factory failed).
  bool Acquire(Lease* lease);
  // Records which frame's pixels the leased buffer now holds.
  void SetContent(const Lease& lease, uint64_t sequence);
  // Returns the buffer. Idempotent: a stale or repeated id is ignored.
  void Release(uint64_t lease_id);
  // Drops every buffer's content marker (after a geometry change the old pixels are meaningless).
  void InvalidateContent();

  size_t buffer_bytes() const { return buffer_bytes_; }
  size_t size() const;    // buffers made so far
  size_t leased() const;  // buffers currently leased

  // Visits every buffer made so far (for backend clean-up such as detaching shared memory).
  void ForEachBuffer(const std::function<void(const std::shared_ptr<FrameBuffer>&)>& fn) const;

 private:
  struct Slot {
    std::shared_ptr<FrameBuffer> buffer;
    uint64_t lease_id = 0;  // 0 = free
    uint64_t content_sequence = 0;
  };

  Factory factory_;
  const size_t buffer_bytes_;
  const size_t max_buffers_;
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
  uint64_t next_lease_id_ = 1;
};

}  // namespace tether
