#include "tether/duplication_rects.h"

#include <algorithm>

namespace tether {

namespace {

bool Inside(const Rect& inner, const Rect& outer) {
  return inner.x >= outer.x && inner.y >= outer.y && inner.right() <= outer.right() &&
         inner.bottom() <= outer.bottom();
}

}  // namespace

DuplicationChange ChangeOfFrame(const Rect& output, const Rect& area,
                                const DuplicatedFrame& frame) {
  DuplicationChange change;
  const Rect local{0, 0, output.width, output.height};
  std::vector<Rect> reported;
  if (frame.first || (frame.image_updated && frame.moves.empty() && frame.dirty.empty())) {
    reported.push_back(local);
  } else if (frame.image_updated) {
    for (const MoveRect& m : frame.moves) reported.push_back(m.destination);
    reported.insert(reported.end(), frame.dirty.begin(), frame.dirty.end());
  }
  for (const Rect& r : reported) {
    const Rect c = r.Intersect(local);
    if (c.empty()) continue;
    const bool covered = std::any_of(change.copy.begin(), change.copy.end(),
                                     [&](const Rect& earlier) { return Inside(c, earlier); });
    if (covered) continue;
    change.copy.push_back(c);
    const Rect on_screen{c.x + output.x, c.y + output.y, c.width, c.height};
    const Rect in_area = on_screen.Intersect(area);
    if (in_area.empty()) continue;
    change.damage.push_back(
        Rect{in_area.x - area.x, in_area.y - area.y, in_area.width, in_area.height});
  }
  return change;
}

void CapRects(std::vector<Rect>* rects, size_t max) {
  if (rects->size() <= max || rects->empty()) return;
  Rect box = rects->front();
  for (const Rect& r : *rects) {
    const int32_t l = std::min(box.x, r.x), t = std::min(box.y, r.y);
    const int32_t rr = std::max(box.right(), r.right()), bb = std::max(box.bottom(), r.bottom());
    box = Rect{l, t, rr - l, bb - t};
  }
  rects->assign(1, box);
}

}  // namespace tether
