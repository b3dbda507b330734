// When a lost desktop duplication is re-created: a small state machine with the time passed in.
// Portable: src/platform/windows/dxgi_screen_capturer.cc feeds it what DXGI answered and asks it
// before each capture; test/windows-capture-logic.test.ts checks it on Linux.
//
// The duplication is lost when the desktop switches (UAC's secure desktop, the lock screen,
// Ctrl+Alt+Del), the display mode changes or a full-screen program takes the output
// (DXGI_ERROR_ACCESS_LOST), or on any other error. Re-creating it fails for as long as the secure
// desktop shows, and each try creates a Direct3D device, so tries back off: the first after an
// access loss is at once, later ones wait 50, 100, 200 ms ... at most kMaxDelayMs. Any other error
// is tried again after kMinErrorDelayMs at the earliest (a device that keeps failing must not be
// re-created at the capture rate). The count of failures ends only with a frame or a timeout, so a
// duplication that opens but fails at once keeps backing off.
#pragma once

#include <cstdint>

namespace tether {

// Thread: owned by one capturer, used under its lock. Times in milliseconds of a monotonic clock.
class ReopenPolicy {
 public:
  static constexpr int64_t kFirstDelayMs = 50;
  static constexpr int64_t kMaxDelayMs = 500;
  static constexpr int64_t kMinErrorDelayMs = 50;

  // What AcquireNextFrame (or reading the frame it gave) answered.
  enum class Outcome {
    kFrame,       // a frame
    kTimeout,     // DXGI_ERROR_WAIT_TIMEOUT: nothing new, the duplication is fine
    kAccessLost,  // DXGI_ERROR_ACCESS_LOST
    kError,       // anything else
  };
  // What to do at a capture.
  enum class Action {
    kCapture,  // the duplication is open: capture
    kReopen,   // lost, and it is time to re-create it (then call Reopened())
    kWait,     // lost, and the back-off has not passed: answer "try again later"
  };

  Action Next(int64_t now_ms) const;
  void Captured(Outcome outcome, int64_t now_ms);
  // The outcome of a re-creation (also one the capturer did for another reason, e.g. the captured
  // area changed).
  void Reopened(bool ok, int64_t now_ms);

  bool lost() const { return lost_; }
  int failures() const { return failures_; }
  int64_t retry_at_ms() const { return retry_at_ms_; }
  // The wait after the n-th failure in a row: 0, 50, 100, 200, ... kMaxDelayMs.
  static int64_t DelayMs(int failures);

 private:
  bool lost_ = false;
  int failures_ = 0;
  int64_t retry_at_ms_ = 0;
};

}  // namespace tether
