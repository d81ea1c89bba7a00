// std::mutex as a capability clang's thread-safety analysis can follow (util/thread_annotations.h): Mutex, and
// MutexLock, which holds it for a scope and waits on a condition variable with it. std::mutex and std::lock_guard
// carry no annotations in libstdc++, so members guarded by one would go unchecked.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "util/thread_annotations.h"

namespace ief {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mutex_.lock(); }
  void Unlock() RELEASE() { mutex_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mutex_.try_lock(); }

 private:
  friend class MutexLock;
  std::mutex mutex_;
};

// Holds `mutex` from construction to destruction. Waits release it while they sleep and take it back before they
// return, so the caller holds it throughout as far as its own code can tell; a wait's caller re-checks its
// condition in a loop (wake-ups can be spurious).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) ACQUIRE(mutex) : lock_(mutex.mutex_) {}
  ~MutexLock() RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Gives the lock back for a while (to call code that must not run under it) and takes it again.
  void Unlock() RELEASE() { lock_.unlock(); }
  void Lock() ACQUIRE() { lock_.lock(); }

  void Wait(std::condition_variable& changed) { changed.wait(lock_); }
  template <typename Rep, typename Period>
  void WaitFor(std::condition_variable& changed, std::chrono::duration<Rep, Period> duration) {
    changed.wait_for(lock_, duration);
  }
  // False when `deadline` passed.
  template <typename Clock, typename Duration>
  bool WaitUntil(std::condition_variable& changed, std::chrono::time_point<Clock, Duration> deadline) {
    return changed.wait_until(lock_, deadline) == std::cv_status::no_timeout;
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace ief
