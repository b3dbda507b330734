#include "tether/pointer_shape.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace tether {

namespace {

bool Bit(const uint8_t* row, int32_t x) {
  return (row[x / 8] & (0x80 >> (x % 8))) != 0;
}

void Put(uint8_t* p, uint8_t b, uint8_t g, uint8_t r, uint8_t a) {
  p[0] = b;
  p[1] = g;
  p[2] = r;
  p[3] = a;
}

}  // namespace

bool ConvertPointerShape(const PointerShapeInfo& info, const uint8_t* data, size_t size,
                         CursorShape* shape) {
  const bool mono = info.type == PointerShapeType::kMonochrome;
  if (!mono && info.type != PointerShapeType::kColor &&
      info.type != PointerShapeType::kMaskedColor) {
    return false;
  }
  if (data == nullptr || info.width <= 0 || info.height <= 0 || info.width > kMaxPointerSide ||
      info.height > (mono ? 2 : 1) * kMaxPointerSide || (mono && info.height % 2 != 0)) {
    return false;
  }
  const int64_t row_bytes = mono ? (info.width + 7) / 8 : int64_t{info.width} * 4;
  if (info.pitch < row_bytes) return false;
  // The last row needs only its own bytes, not a whole pitch.
  if (static_cast<int64_t>(size) < int64_t{info.pitch} * (info.height - 1) + row_bytes) {
    return false;
  }
  const int32_t width = info.width, height = mono ? info.height / 2 : info.height;
  std::vector<uint8_t> px(static_cast<size_t>(width) * height * 4, 0);
  for (int32_t y = 0; y < height; ++y) {
    const uint8_t* row = data + static_cast<size_t>(info.pitch) * y;
    uint8_t* out = &px[static_cast<size_t>(y) * width * 4];
    for (int32_t x = 0; x < width; ++x, out += 4) {
      if (mono) {
        const bool and_bit = Bit(row, x);
        const bool xor_bit = Bit(data + static_cast<size_t>(info.pitch) * (y + height), x);
        if (and_bit && !xor_bit) continue;  // transparent
        const uint8_t v = !and_bit && xor_bit ? 255 : 0;
        Put(out, v, v, v, 255);
        continue;
      }
      const uint8_t* in = row + static_cast<size_t>(x) * 4;
      if (info.type == PointerShapeType::kColor) {
        const uint8_t a = in[3];
        Put(out, static_cast<uint8_t>(in[0] * a / 255), static_cast<uint8_t>(in[1] * a / 255),
            static_cast<uint8_t>(in[2] * a / 255), a);
      } else if (in[3] == 0) {
        Put(out, in[0], in[1], in[2], 255);
      } else if (in[0] != 0 || in[1] != 0 || in[2] != 0) {
        Put(out, 0, 0, 0, 255);  // XOR with a colour: cannot be shown, drawn black
      }                          // else XOR with black: transparent
    }
  }
  shape->width = width;
  shape->height = height;
  shape->hot_x = std::clamp(info.hot_x, 0, width - 1);
  shape->hot_y = std::clamp(info.hot_y, 0, height - 1);
  shape->pixels = std::move(px);
  return true;
}

}  // namespace tether
