// A cancellable sleep shared between the poller and its workers: Stop() wakes every sleeper at once, and
// in-flight HTTP transfers poll IsCancelled() to abort, so shutdown and reload take milliseconds, not timeouts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace ief {

class Cancellation {
 public:
  void Cancel() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
    }
    changed_.notify_all();
  }
  bool IsCancelled() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cancelled_;
  }
  // Sleeps for `duration`; returns false (early) when cancelled.
  template <typename Rep, typename Period>
  bool SleepFor(std::chrono::duration<Rep, Period> duration) const {
    std::unique_lock<std::mutex> lock(mutex_);
    return !changed_.wait_for(lock, duration, [&] { return cancelled_; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool cancelled_ = false;
};

}  // namespace ief
