// Which rows changed in each recent frame, so a pooled buffer that last held frame N can be brought
// up to date by re-grabbing only the rows changed since N. Portable.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "tether/frame.h"
#include "tether/geometry.h"

namespace tether {

// Sorts and merges spans in place; clips them to [0, height).
void NormalizeRowSpans(std::vector<RowSpan>* spans, int32_t height);
// The rows covered by `rects` (clipped to [0, height)), merged.
std::vector<RowSpan> RowSpansOf(const std::vector<Rect>& rects, int32_t height);
// Total rows in normalized spans.
int64_t RowCount(const std::vector<RowSpan>& spans);

// Thread: owned by one capturer, used under its lock.
class DamageHistory {
 public:
  explicit DamageHistory(size_t depth = 16) : depth_(depth) {}

  // Records the rows that frame `sequence` changed (sequences must increase).
  void Add(uint64_t sequence, std::vector<RowSpan> rows);
  // Rows a buffer holding frame `since` must refresh to show the newest recorded frame. Sets *all
  // when the history does not reach back that far (or since == 0): the whole frame must be grabbed.
  std::vector<RowSpan> Since(uint64_t since, int32_t height, bool* all) const;
  void Clear() { entries_.clear(); }

 private:
  struct Entry {
    uint64_t sequence;
    std::vector<RowSpan> rows;
  };
  size_t depth_;
  std::deque<Entry> entries_;
};

}  // namespace tether
