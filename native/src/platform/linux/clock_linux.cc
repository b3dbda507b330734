#include <time.h>

#include "tether/clock.h"

namespace tether {

namespace {
int64_t Read(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}
}  // namespace

int64_t ThreadCpuTimeNs() {
  return Read(CLOCK_THREAD_CPUTIME_ID);
}
int64_t RealtimeUs() {
  return Read(CLOCK_REALTIME) / 1000;
}
int64_t MonotonicNs() {
  return Read(CLOCK_MONOTONIC);
}

}  // namespace tether
