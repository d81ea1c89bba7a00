#include "util/clock.h"

#include <algorithm>
#include <cmath>

namespace ief {
namespace {

class RealClock : public Clock {
 public:
  SteadyTime Steady() const override { return std::chrono::steady_clock::now(); }
  WallTime Wall() const override { return std::chrono::system_clock::now(); }
  bool WaitUntil(MutexLock& lock, std::condition_variable& changed, SteadyTime deadline) const override {
    return lock.WaitUntil(changed, deadline);
  }
};

}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

double UnixSeconds(WallTime time) { return Seconds(time.time_since_epoch()); }

WallTime FromUnixSeconds(double seconds) {
  // Timestamps come from the network: converting one beyond the nanosecond clock's ±292 years would be undefined
  // behaviour. ±4e9 s (1843 to 2096) keeps any difference of two of them representable too.
  constexpr double kLimit = 4e9;
  if (std::isnan(seconds)) seconds = 0;
  seconds = std::clamp(seconds, -kLimit, kLimit);
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(seconds)));
}

WallTime FromApiSeconds(int64_t seconds) { return FromUnixSeconds(static_cast<double>(seconds)); }

}  // namespace ief
