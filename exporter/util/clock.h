// The one clock seam (the LevelDB Env idea): steady time for intervals, deadlines and rates; wall time for what
// is shown to people or compared with the API's own timestamps. Distinct types, so the two cannot be mixed up.
// Production code takes a `const Clock&` (SystemClock() by default); tests pass a ManualClock. Waiting goes through
// the clock too (WaitUntil), so a test that moves its clock by hand drives rate limits, back-offs and intervals
// without sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>

#include "util/mutex.h"

namespace ief {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Steady() const = 0;
  virtual WallTime Wall() const = 0;
  // Sleeps on `changed`, whose mutex `lock` holds, until it is notified or this clock reaches `deadline`; false
  // once the deadline has passed. Wake-ups can be spurious (a test clock also wakes its waiters whenever it moves):
  // callers re-check their condition in a loop.
  virtual bool WaitUntil(MutexLock& lock, std::condition_variable& changed, SteadyTime deadline) const = 0;
};

// The process's real clocks.
const Clock& SystemClock();

// Seconds since the Unix epoch, as Prometheus samples and the IEF API write them.
double UnixSeconds(WallTime time);
// Any value is safe: those beyond ±4e9 s (1843 to 2096) are clamped there, NaN is the epoch.
WallTime FromUnixSeconds(double seconds);
// The same for the API's whole-second timestamps (created_at, status_last_updated_at).
WallTime FromApiSeconds(int64_t seconds);

// A duration in (fractional) seconds, for metrics and logs.
template <typename Rep, typename Period>
double Seconds(std::chrono::duration<Rep, Period> duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace ief
