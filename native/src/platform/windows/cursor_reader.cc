#include "platform/windows/cursor_reader.h"

#include <vector>

#include "platform/windows/win_util.h"
#include "tether/pointer_shape.h"

namespace tether {

namespace {

// Reads `bitmap` as 32-bit top-down BGRA, `width` x `height` pixels.
bool ReadBitmap(HDC dc, HBITMAP bitmap, int width, int height, std::vector<uint8_t>* out) {
  BITMAPINFO info{};
  info.bmiHeader.biSize = sizeof info.bmiHeader;
  info.bmiHeader.biWidth = width;
  info.bmiHeader.biHeight = -height;  // top-down
  info.bmiHeader.biPlanes = 1;
  info.bmiHeader.biBitCount = 32;
  info.bmiHeader.biCompression = BI_RGB;
  out->assign(static_cast<size_t>(width) * height * 4, 0);
  return GetDIBits(dc, bitmap, 0, static_cast<UINT>(height), out->data(), &info, DIB_RGB_COLORS) ==
         height;
}

}  // namespace

bool ConvertCursor(HCURSOR cursor, CursorShape* shape) {
  ICONINFO icon{};
  if (!GetIconInfo(cursor, &icon)) return false;
  GdiObject mask(icon.hbmMask), color(icon.hbmColor);  // GetIconInfo hands both to the caller
  BITMAP bm{};
  if (icon.hbmMask == nullptr || GetObjectW(icon.hbmMask, sizeof bm, &bm) == 0) return false;
  const int width = bm.bmWidth;
  const int height = icon.hbmColor != nullptr ? bm.bmHeight : bm.bmHeight / 2;
  if (width <= 0 || height <= 0 || width > kMaxPointerSide || height > kMaxPointerSide) {
    return false;
  }
  ScreenDc dc;
  std::vector<uint8_t> mask_px;  // AND mask (and, for monochrome cursors, the XOR mask below it)
  if (!ReadBitmap(dc.get(), icon.hbmMask, width, bm.bmHeight, &mask_px)) return false;
  // The bitmaps in the layouts DXGI describes pointers in (tether/pointer_shape.h), whose portable
  // conversion is unit-tested.
  PointerShapeInfo info;
  info.width = width;
  info.hot_x = static_cast<int32_t>(icon.xHotspot);
  info.hot_y = static_cast<int32_t>(icon.yHotspot);
  std::vector<uint8_t> data;
  if (icon.hbmColor == nullptr) {  // monochrome: pack the 32-bit mask rows to 1 bit per pixel
    info.type = PointerShapeType::kMonochrome;
    info.height = bm.bmHeight;
    info.pitch = (width + 7) / 8;
    data.assign(static_cast<size_t>(info.pitch) * bm.bmHeight, 0);
    for (int y = 0; y < bm.bmHeight; ++y) {
      for (int x = 0; x < width; ++x) {
        if (mask_px[(static_cast<size_t>(y) * width + x) * 4] != 0) {
          data[static_cast<size_t>(y) * info.pitch + x / 8] |=
              static_cast<uint8_t>(0x80 >> (x % 8));
        }
      }
    }
  } else {
    if (!ReadBitmap(dc.get(), icon.hbmColor, width, height, &data)) return false;
    const size_t n = static_cast<size_t>(width) * height;
    bool has_alpha = false;
    for (size_t i = 0; i < n && !has_alpha; ++i) has_alpha = data[i * 4 + 3] != 0;
    info.height = height;
    info.pitch = width * 4;
    if (has_alpha) {
      info.type = PointerShapeType::kColor;
    } else {  // the AND mask decides: 0 draws the colour, 1 XORs it with the screen
      info.type = PointerShapeType::kMaskedColor;
      for (size_t i = 0; i < n; ++i) data[i * 4 + 3] = mask_px[i * 4] != 0 ? 0xFF : 0;
    }
  }
  return ConvertPointerShape(info, data.data(), data.size(), shape);
}

Status CursorReader::Read(const Rect& area, CursorState* cursor) {
  ScopedDpiAwareness dpi;
  cursor->shape_changed = false;
  CURSORINFO info{};
  info.cbSize = sizeof info;
  if (!GetCursorInfo(&info)) {  // e.g. on the secure desktop: report it hidden
    cursor->visible = false;
    return Status::Ok();
  }
  cursor->position = Point{info.ptScreenPos.x - area.x, info.ptScreenPos.y - area.y};
  const bool showing = (info.flags & CURSOR_SHOWING) != 0 && info.hCursor != nullptr;
  cursor->visible = showing && area.Contains(info.ptScreenPos.x, info.ptScreenPos.y);
  if (showing && info.hCursor != last_ && ConvertCursor(info.hCursor, &cursor->shape)) {
    last_ = info.hCursor;
    cursor->shape.serial = ++serial_;
    cursor->shape_changed = true;
  }
  return Status::Ok();
}

}  // namespace tether
