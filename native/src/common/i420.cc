#include "tether/i420.h"

#include <libyuv/convert_from_argb.h>

#include <algorithm>
#include <string>

namespace tether {

I420Layout I420LayoutFor(Size size) {
  I420Layout l;
  l.width = size.width;
  l.height = size.height;
  l.y_stride = size.width;
  l.uv_stride = (size.width + 1) / 2;
  const size_t y_bytes = static_cast<size_t>(l.y_stride) * size.height;
  const size_t uv_bytes = static_cast<size_t>(l.uv_stride) * ((size.height + 1) / 2);
  l.y_offset = 0;
  l.u_offset = y_bytes;
  l.v_offset = y_bytes + uv_bytes;
  l.total_bytes = y_bytes + 2 * uv_bytes;
  return l;
}

Status ConvertBgraToI420(const uint8_t* bgra, int32_t stride, Size size,
                         const std::vector<RowSpan>& rows, bool all, uint8_t* dst,
                         size_t dst_bytes) {
  const I420Layout l = I420LayoutFor(size);
  if (dst_bytes < l.total_bytes) {
    return Status(ErrorCode::kBadArgument, "I420 buffer holds " + std::to_string(dst_bytes) +
                                               " bytes; " + std::to_string(l.total_bytes) +
                                               " needed for " + std::to_string(size.width) + "x" +
                                               std::to_string(size.height));
  }
  auto convert = [&](int32_t begin, int32_t end) -> bool {
    begin &= ~1;                                  // chroma rows pair luma rows (2k, 2k+1)
    end = std::min(size.height, (end + 1) & ~1);  // so widen to even bounds
    if (end <= begin) return true;
    const int32_t c = begin / 2;
    // libyuv's "ARGB" is little-endian B,G,R,A in memory: exactly X11's 32-bit ZPixmap order.
    return libyuv::ARGBToI420(bgra + static_cast<size_t>(begin) * stride, stride,
                              dst + l.y_offset + static_cast<size_t>(begin) * l.y_stride,
                              l.y_stride, dst + l.u_offset + static_cast<size_t>(c) * l.uv_stride,
                              l.uv_stride, dst + l.v_offset + static_cast<size_t>(c) * l.uv_stride,
                              l.uv_stride, size.width, end - begin) == 0;
  };
  bool ok = true;
  if (all) {
    ok = convert(0, size.height);
  } else {
    int32_t done = 0;  // spans widened to even bounds may touch; never convert a row twice
    for (const RowSpan& r : rows) {
      const int32_t begin = std::max(r.begin & ~1, done);
      ok = ok && convert(begin, r.end);
      done = std::max(done, std::min(size.height, (r.end + 1) & ~1));
    }
  }
  if (!ok) return Status(ErrorCode::kInternal, "libyuv ARGBToI420 failed");
  return Status::Ok();
}

}  // namespace tether
