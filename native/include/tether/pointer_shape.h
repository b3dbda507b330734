// Pointer images in the three layouts Windows describes them in (DXGI_OUTDUPL_POINTER_SHAPE_INFO;
// a cursor's icon bitmaps come in the same ones), converted to CursorShape's premultiplied BGRA.
// Portable: src/platform/windows/cursor_reader.cc hands a cursor's bitmaps over in these layouts,
// and test/windows-capture-logic.test.ts checks the conversion on Linux.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tether/frame.h"

namespace tether {

// The values are DXGI_OUTDUPL_POINTER_SHAPE_TYPE_*.
enum class PointerShapeType : uint32_t {
  // 1 bit per pixel, most significant bit first: the AND mask's rows, then the XOR mask's.
  kMonochrome = 1,
  // 32-bit BGRA with straight (not premultiplied) alpha.
  kColor = 2,
  // 32-bit BGRA whose 4th byte is a mask: 0 draws the colour, 0xFF XORs it with the screen.
  kMaskedColor = 4,
};

struct PointerShapeInfo {
  PointerShapeType type = PointerShapeType::kColor;
  int32_t width = 0;   // pixels
  int32_t height = 0;  // rows of data: for kMonochrome twice the pointer's height (AND, then XOR)
  int32_t pitch = 0;   // bytes from one row of data to the next
  int32_t hot_x = 0;   // hotspot, pixels from the top-left
  int32_t hot_y = 0;
};

// The largest pointer converted, in either direction (Windows draws cursors up to 256 pixels).
constexpr int32_t kMaxPointerSide = 512;

// Fills `shape` (all but its serial) from `size` bytes at `data`. What a viewer cannot do (invert
// or XOR what is under the pointer) is drawn opaque black: monochrome AND 1 / XOR 1, and masked
// colour pixels with mask 0xFF and a colour other than black; masked black is transparent, as is
// monochrome AND 1 / XOR 0. A hotspot outside the image is moved to its nearest pixel. False, with
// `shape` untouched, when the description does not fit the data (sizes, pitch, an odd monochrome
// height) or the pointer is larger than kMaxPointerSide.
bool ConvertPointerShape(const PointerShapeInfo& info, const uint8_t* data, size_t size,
                         CursorShape* shape);

}  // namespace tether
