// BGRA -> I420 (BT.601 limited range) through libyuv. Portable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tether/frame.h"
#include "tether/geometry.h"
#include "tether/status.h"

namespace tether {

// I420 layout in one contiguous buffer: Y (width x height), then U and V ((width+1)/2 x
// (height+1)/2 each), rows packed without padding.
struct I420Layout {
  int32_t width = 0, height = 0;
  int32_t y_stride = 0, uv_stride = 0;
  size_t y_offset = 0, u_offset = 0, v_offset = 0;
  size_t total_bytes = 0;
};
I420Layout I420LayoutFor(Size size);

// Converts `rows` (or everything when rows is empty and `all` is set) of a BGRA image into `dst`,
// laid out as I420LayoutFor(size). Rows are widened to even boundaries because a chroma row
// covers two luma rows. kBadArgument if dst_bytes is too small. Thread: any.
Status ConvertBgraToI420(const uint8_t* bgra, int32_t stride, Size size,
                         const std::vector<RowSpan>& rows, bool all, uint8_t* dst,
                         size_t dst_bytes);

}  // namespace tether
