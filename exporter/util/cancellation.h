// A cancellable sleep shared between the poller and its workers: Stop() wakes every sleeper at once, and
// in-flight HTTP transfers poll IsCancelled() to abort, so shutdown and reload take milliseconds, not timeouts.
#pragma once

#include <chrono>
#include <condition_variable>

#include "util/clock.h"
#include "util/mutex.h"

namespace ief {

class Cancellation {
 public:
  void Cancel() EXCLUDES(mutex_) {
    {
      MutexLock lock(mutex_);
      cancelled_ = true;
    }
    changed_.notify_all();
  }
  bool IsCancelled() const EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    return cancelled_;
  }
  // Sleeps for `duration` of `clock`'s time; returns false (early) when cancelled.
  bool SleepFor(const Clock& clock, std::chrono::nanoseconds duration) const EXCLUDES(mutex_) {
    const SteadyTime deadline = clock.Steady() + duration;
    MutexLock lock(mutex_);
    while (!cancelled_ && clock.WaitUntil(lock, changed_, deadline)) {
    }
    return !cancelled_;
  }

 private:
  mutable Mutex mutex_;
  mutable std::condition_variable changed_;
  bool cancelled_ GUARDED_BY(mutex_) = false;
};

}  // namespace ief
