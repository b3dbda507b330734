#include "platform/windows/win_headers.h"
#include "tether/clock.h"

namespace tether {

int64_t ThreadCpuTimeNs() {
  FILETIME created, exited, kernel, user;
  if (!GetThreadTimes(GetCurrentThread(), &created, &exited, &kernel, &user)) return 0;
  auto ticks = [](const FILETIME& t) {
    return (static_cast<int64_t>(t.dwHighDateTime) << 32) | t.dwLowDateTime;
  };
  return (ticks(kernel) + ticks(user)) * 100;  // 100 ns units
}

int64_t RealtimeUs() {
  FILETIME t;
  GetSystemTimePreciseAsFileTime(&t);
  const int64_t ticks = (static_cast<int64_t>(t.dwHighDateTime) << 32) | t.dwLowDateTime;
  constexpr int64_t kUnixEpochTicks = 116444736000000000LL;  // 1601-01-01 to 1970-01-01, 100 ns
  return (ticks - kUnixEpochTicks) / 10;
}

int64_t MonotonicNs() {
  static const int64_t frequency = [] {
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    return static_cast<int64_t>(f.QuadPart);
  }();
  LARGE_INTEGER now;
  QueryPerformanceCounter(&now);
  const int64_t whole = now.QuadPart / frequency, rest = now.QuadPart % frequency;
  return whole * 1000000000LL + rest * 1000000000LL / frequency;
}

}  // namespace tether
