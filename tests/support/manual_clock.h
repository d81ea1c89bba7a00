// A clock tests move by hand. Steady and wall time move together; both start at `start_unix` (steady time
// counts from the same number of seconds since its own epoch, which nothing may compare with wall time anyway).
// Code waiting on it (Clock::WaitUntil) wakes when the test moves it past the deadline, not when real time passes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "util/clock.h"

namespace ief::testing {

class ManualClock : public Clock {
 public:
  explicit ManualClock(double start_unix = 1700000000) : nanos_(ToNanos(start_unix)) {}

  SteadyTime Steady() const override { return SteadyTime(std::chrono::nanoseconds(nanos_.load())); }
  WallTime Wall() const override {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(nanos_.load())));
  }
  // Waits a real millisecond at most: a move of the clock between the caller's check and its wait would find no
  // waiter to wake, so the caller looks again soon.
  bool WaitUntil(MutexLock& lock, std::condition_variable& changed, SteadyTime deadline) const override {
    if (Steady() >= deadline) return false;
    std::multiset<std::condition_variable*>::iterator waiter;
    {
      std::lock_guard<std::mutex> guard(waiters_mutex_);
      waiter = waiters_.insert(&changed);
    }
    lock.WaitFor(changed, std::chrono::milliseconds(1));
    {
      std::lock_guard<std::mutex> guard(waiters_mutex_);
      waiters_.erase(waiter);
    }
    return Steady() < deadline;
  }

  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> by) {
    nanos_ += std::chrono::duration_cast<std::chrono::nanoseconds>(by).count();
    WakeWaiters();
  }
  // Jumps to a unix time (forwards or backwards).
  void Set(double unix_seconds) {
    nanos_ = ToNanos(unix_seconds);
    WakeWaiters();
  }
  double unix_seconds() const { return static_cast<double>(nanos_.load()) / 1e9; }

 private:
  static int64_t ToNanos(double seconds) { return static_cast<int64_t>(seconds * 1e9); }
  void WakeWaiters() {
    std::lock_guard<std::mutex> guard(waiters_mutex_);
    for (std::condition_variable* waiter : waiters_) waiter->notify_all();
  }

  std::atomic<int64_t> nanos_;
  mutable std::mutex waiters_mutex_;
  mutable std::multiset<std::condition_variable*> waiters_;  // the condition variables being waited on now
};

}  // namespace ief::testing
