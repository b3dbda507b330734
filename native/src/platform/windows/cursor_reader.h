// The pointer on Windows, for every capturer of this backend: position from GetCursorInfo, shape
// converted from the cursor's bitmaps when the cursor handle changes.
#pragma once

#include <cstdint>

#include "platform/windows/win_headers.h"
#include "tether/frame.h"
#include "tether/geometry.h"
#include "tether/status.h"

namespace tether {

// Thread: used under the owning capturer's lock.
class CursorReader {
 public:
  // Fills `cursor` relative to `area` (screen coordinates); the shape only when it changed since
  // the previous call (or after Reset()).
  Status Read(const Rect& area, CursorState* cursor);
  void Reset() { last_ = nullptr; }

 private:
  HCURSOR last_ = nullptr;
  uint64_t serial_ = 0;
};

// Converts a cursor's bitmaps to premultiplied BGRA (CursorShape's format) through
// ConvertPointerShape (tether/pointer_shape.h: what is drawn for pixels that invert or XOR the
// screen). False when the handle has no readable bitmaps.
bool ConvertCursor(HCURSOR cursor, CursorShape* shape);

}  // namespace tether
