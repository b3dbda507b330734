// Frames and the memory they live in. Portable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "tether/geometry.h"

namespace tether {

class FramePool;

// Pixel memory owned by a backend (shared memory for X11, heap for I420). Held by shared_ptr so
// that a JS ArrayBuffer handed the memory keeps it mapped after the pool or capturer is gone.
// Thread: any; the contents are written only by the thread that leased it from a FramePool.
class FrameBuffer {
 public:
  virtual ~FrameBuffer() = default;
  virtual uint8_t* data() = 0;
  virtual size_t capacity() const = 0;
};

// A run of whole rows [begin, end), in frame coordinates. Damage is grabbed and converted by row
// bands because a full-width band is contiguous in a strided buffer.
struct RowSpan {
  int32_t begin = 0;
  int32_t end = 0;
};

// One captured frame: 32-bit BGRA (X11's BGRX memory order; the 4th byte is unspecified), rows top
// to bottom, `stride` bytes apart. Valid until the lease on `buffer` is released.
struct Frame {
  std::shared_ptr<FrameBuffer> buffer;
  std::weak_ptr<FramePool> pool;      // where the lease goes back; see ReleaseFrameBuffer()
  uint64_t lease_id = 0;              // FramePool lease that keeps `buffer` from being reused
  Size size;                          // pixels
  int32_t stride = 0;                 // bytes per row
  Point origin;                       // top-left of the captured area in screen coordinates
  std::vector<Rect> updated;          // changed since the previous frame, frame coordinates
  std::vector<RowSpan> updated_rows;  // the rows covered by `updated`, merged and sorted
  bool full = false;                  // every pixel was grabbed (first frame, fallback, resize)
  uint64_t sequence = 0;              // 1, 2, ... per capturer; resets never
  int64_t capture_time_us = 0;        // CLOCK_REALTIME microseconds when the grab finished
  double grab_ms = 0;                 // wall time: fetching damage plus grabbing the pixels
};

// Returns the frame's buffer to its pool (if the pool still exists). Thread: any. Idempotent.
void ReleaseFrameBuffer(const std::weak_ptr<FramePool>& pool, uint64_t lease_id);

// The pointer, delivered apart from the frame so the viewer can draw it.
struct CursorShape {
  int32_t width = 0;
  int32_t height = 0;
  int32_t hot_x = 0;  // hotspot within the image
  int32_t hot_y = 0;
  uint64_t serial = 0;          // changes whenever the shape changes
  std::vector<uint8_t> pixels;  // BGRA premultiplied, width*4 bytes per row
};

struct CursorState {
  Point position;              // hotspot position in frame coordinates (may lie outside the frame)
  bool visible = true;         // inside the captured area
  bool shape_changed = false;  // `shape` holds a new shape since the previous CaptureCursor
  CursorShape shape;
};

}  // namespace tether
