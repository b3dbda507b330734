// Integer geometry in pixels. Origin top-left, x to the right, y down. Portable.
#pragma once

#include <algorithm>
#include <cstdint>

namespace tether {

struct Point {
  int32_t x = 0;
  int32_t y = 0;
};

struct Size {
  int32_t width = 0;
  int32_t height = 0;
  bool operator==(const Size& o) const { return width == o.width && height == o.height; }
  bool operator!=(const Size& o) const { return !(*this == o); }
};

// Half-open rectangle [x, x+width) x [y, y+height).
struct Rect {
  int32_t x = 0;
  int32_t y = 0;
  int32_t width = 0;
  int32_t height = 0;

  bool empty() const { return width <= 0 || height <= 0; }
  int32_t right() const { return x + width; }
  int32_t bottom() const { return y + height; }
  bool Contains(int32_t px, int32_t py) const {
    return px >= x && py >= y && px < right() && py < bottom();
  }
  Rect Intersect(const Rect& o) const {
    int32_t l = std::max(x, o.x), t = std::max(y, o.y);
    int32_t r = std::min(right(), o.right()), b = std::min(bottom(), o.bottom());
    if (r <= l || b <= t) return Rect{};
    return Rect{l, t, r - l, b - t};
  }
  bool operator==(const Rect& o) const {
    return x == o.x && y == o.y && width == o.width && height == o.height;
  }
  bool operator!=(const Rect& o) const { return !(*this == o); }
};

}  // namespace tether
