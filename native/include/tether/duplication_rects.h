// What one frame of a desktop duplication changed, from the rectangles the compositor reports with
// it (DXGI Desktop Duplication's move and dirty rectangles). Portable: the Windows capturer
// (src/platform/windows/dxgi_screen_capturer.cc) hands its rectangles over in these types, and
// test/windows-capture-logic.test.ts checks the rules on Linux.
#pragma once

#include <cstddef>
#include <vector>

#include "tether/geometry.h"

namespace tether {

// A move: the pixels now in `destination` came from the same-size rectangle at `source`. Output
// coordinates (origin: the output's top-left).
struct MoveRect {
  Point source;
  Rect destination;
};

// One output's frame as the compositor described it.
struct DuplicatedFrame {
  bool first = false;           // no earlier image of this output is kept: all of it is new
  bool image_updated = true;    // false when only the pointer changed (LastPresentTime 0)
  std::vector<MoveRect> moves;  // in the order reported
  std::vector<Rect> dirty;      // in the order reported
};

struct DuplicationChange {
  // What to copy from the frame's image into the kept image, output coordinates, clipped to the
  // output: each move's destination, then each dirty rectangle, in the order reported, leaving out
  // empty ones and ones inside a rectangle already listed. The frame's image shows every move done
  // and the compositor reports what a move uncovered as dirty, so a move's source needs nothing.
  std::vector<Rect> copy;
  // The same rectangles in frame coordinates (origin: the captured area's top-left), clipped to
  // the captured area; those outside it are left out.
  std::vector<Rect> damage;
};

// `output` and `area` in screen coordinates. A first frame, or an updated image reported without
// any rectangle, changes the whole output; a frame that only moved the pointer changes nothing.
DuplicationChange ChangeOfFrame(const Rect& output, const Rect& area, const DuplicatedFrame& frame);

// More than `max` rectangles become their bounding box (one rectangle); fewer stay as they are.
void CapRects(std::vector<Rect>* rects, size_t max);

}  // namespace tether
