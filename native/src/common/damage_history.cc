#include "tether/damage_history.h"

#include <algorithm>
#include <utility>

namespace tether {

void NormalizeRowSpans(std::vector<RowSpan>* spans, int32_t height) {
  std::vector<RowSpan> clipped;
  clipped.reserve(spans->size());
  for (RowSpan s : *spans) {
    s.begin = std::max(s.begin, 0);
    s.end = std::min(s.end, height);
    if (s.end > s.begin) clipped.push_back(s);
  }
  std::sort(clipped.begin(), clipped.end(),
            [](const RowSpan& a, const RowSpan& b) { return a.begin < b.begin; });
  spans->clear();
  for (const RowSpan& s : clipped) {
    if (!spans->empty() && s.begin <= spans->back().end) {
      spans->back().end = std::max(spans->back().end, s.end);
    } else {
      spans->push_back(s);
    }
  }
}

std::vector<RowSpan> RowSpansOf(const std::vector<Rect>& rects, int32_t height) {
  std::vector<RowSpan> spans;
  spans.reserve(rects.size());
  for (const Rect& r : rects) {
    if (!r.empty()) spans.push_back(RowSpan{r.y, r.bottom()});
  }
  NormalizeRowSpans(&spans, height);
  return spans;
}

int64_t RowCount(const std::vector<RowSpan>& spans) {
  int64_t n = 0;
  for (const RowSpan& s : spans) n += s.end - s.begin;
  return n;
}

void DamageHistory::Add(uint64_t sequence, std::vector<RowSpan> rows) {
  entries_.push_back(Entry{sequence, std::move(rows)});
  while (entries_.size() > depth_) entries_.pop_front();
}

std::vector<RowSpan> DamageHistory::Since(uint64_t since, int32_t height, bool* all) const {
  std::vector<RowSpan> out;
  *all = since == 0 || entries_.empty() || entries_.front().sequence > since + 1;
  if (*all) return out;
  for (const Entry& e : entries_) {
    if (e.sequence > since) out.insert(out.end(), e.rows.begin(), e.rows.end());
  }
  NormalizeRowSpans(&out, height);
  return out;
}

}  // namespace tether
