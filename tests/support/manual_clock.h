// A clock tests move by hand. Steady and wall time move together; both start at `start_unix` (steady time
// counts from the same number of seconds since its own epoch, which nothing may compare with wall time anyway).
#pragma once

#include <atomic>
#include <chrono>

#include "util/clock.h"

namespace ief::testing {

class ManualClock : public Clock {
 public:
  explicit ManualClock(double start_unix = 1700000000) : nanos_(ToNanos(start_unix)) {}

  SteadyTime Steady() const override { return SteadyTime(std::chrono::nanoseconds(nanos_.load())); }
  WallTime Wall() const override {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(nanos_.load())));
  }

  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> by) {
    nanos_ += std::chrono::duration_cast<std::chrono::nanoseconds>(by).count();
  }
  // Jumps to a unix time (forwards or backwards).
  void Set(double unix_seconds) { nanos_ = ToNanos(unix_seconds); }
  double unix_seconds() const { return static_cast<double>(nanos_.load()) / 1e9; }

 private:
  static int64_t ToNanos(double seconds) { return static_cast<int64_t>(seconds * 1e9); }
  std::atomic<int64_t> nanos_;
};

}  // namespace ief::testing
