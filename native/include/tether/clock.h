// Clocks for timing and accounting. Defined per platform.
#pragma once

#include <cstdint>

namespace tether {

// CPU time consumed by the calling thread, nanoseconds (0 where unavailable).
int64_t ThreadCpuTimeNs();
// Wall clock, microseconds since the Unix epoch.
int64_t RealtimeUs();
// Monotonic clock, nanoseconds from an arbitrary origin.
int64_t MonotonicNs();

}  // namespace tether
