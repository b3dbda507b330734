#include "tether/reopen_policy.h"

#include <algorithm>

namespace tether {

int64_t ReopenPolicy::DelayMs(int failures) {
  if (failures <= 1) return 0;
  int64_t delay = kFirstDelayMs;
  for (int i = 2; i < failures && delay < kMaxDelayMs; ++i) delay *= 2;
  return std::min(delay, kMaxDelayMs);
}

ReopenPolicy::Action ReopenPolicy::Next(int64_t now_ms) const {
  if (!lost_) return Action::kCapture;
  return now_ms >= retry_at_ms_ ? Action::kReopen : Action::kWait;
}

void ReopenPolicy::Captured(Outcome outcome, int64_t now_ms) {
  if (outcome == Outcome::kFrame || outcome == Outcome::kTimeout) {
    failures_ = 0;
    return;
  }
  lost_ = true;
  ++failures_;
  int64_t delay = DelayMs(failures_);
  if (outcome == Outcome::kError) delay = std::max(delay, kMinErrorDelayMs);
  retry_at_ms_ = now_ms + delay;
}

void ReopenPolicy::Reopened(bool ok, int64_t now_ms) {
  if (ok) {
    lost_ = false;
    return;
  }
  lost_ = true;
  ++failures_;
  retry_at_ms_ = now_ms + DelayMs(failures_);
}

}  // namespace tether
