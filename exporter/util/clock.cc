#include "util/clock.h"

namespace ief {
namespace {

class RealClock : public Clock {
 public:
  SteadyTime Steady() const override { return std::chrono::steady_clock::now(); }
  WallTime Wall() const override { return std::chrono::system_clock::now(); }
};

}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

double UnixSeconds(WallTime time) { return Seconds(time.time_since_epoch()); }

WallTime FromUnixSeconds(double seconds) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(seconds)));
}

}  // namespace ief
