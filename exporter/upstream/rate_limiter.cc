#include "upstream/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace ief {
namespace {

using std::chrono::nanoseconds;

// Waiting requests re-check their cancellation at least this often.
constexpr auto kWaitSlice = std::chrono::milliseconds(100);
// Urgent traffic can push the background share at most this far ahead (or two of its intervals, if longer), so
// background work resumes soon after a burst.
constexpr auto kBackgroundHorizon = std::chrono::seconds(2);
// After a burst of 429s, growth stops at this share of the rate before the burst (for kThrottleMemory).
constexpr double kSafeShareOfThrottledRate = 0.7;
// Each increase adds this share of the ceiling.
constexpr double kIncreaseShareOfCeiling = 0.05;

nanoseconds PerRequest(double rate) { return nanoseconds(static_cast<int64_t>(1e9 / rate)); }

}  // namespace

EndpointRateLimiter::EndpointRateLimiter(double ceiling, const Clock& clock)
    : clock_(clock),
      ceiling_(std::max(kMinRate, ceiling)),
      rate_(ceiling_),
      last_change_(clock.Steady()),
      rate_before_burst_(ceiling_) {
  stats_.ceiling = ceiling_;
}

void EndpointRateLimiter::SetCeiling(double ceiling) {
  MutexLock lock(mutex_);
  SteadyTime now = clock_.Steady();
  ceiling_ = std::max(kMinRate, ceiling);
  stats_.ceiling = ceiling_;
  bool throttled_lately = last_decrease_ && now - *last_decrease_ < kThrottleMemory;
  rate_ = throttled_lately ? std::min(rate_, ceiling_) : ceiling_;
  turn_changed_.notify_all();
}

nanoseconds EndpointRateLimiter::IntervalLocked() const { return PerRequest(rate_); }

nanoseconds EndpointRateLimiter::BackgroundIntervalLocked() const {
  return PerRequest(rate_ * kBackgroundShare);
}

SteadyTime EndpointRateLimiter::ReadyAtLocked() const {
  // GCRA: a request conforms when it is at most (burst - 1) intervals ahead of the theoretical arrival time.
  double burst = std::max(1.0, std::floor(rate_ / 4));
  auto tolerance = std::chrono::duration_cast<nanoseconds>(IntervalLocked() * (burst - 1));
  return std::max(paused_until_, tat_ - tolerance);
}

void EndpointRateLimiter::GrantLocked(SteadyTime now, bool counts_against_background) {
  tat_ = std::max(tat_, now) + IntervalLocked();
  if (counts_against_background) {
    nanoseconds background_interval = BackgroundIntervalLocked();
    SteadyTime horizon = now + std::max<nanoseconds>(kBackgroundHorizon, background_interval * 2);
    background_tat_ = std::min(std::max(background_tat_, now) + background_interval, horizon);
  }
}

double EndpointRateLimiter::FloorLocked() const { return std::max(kMinRate, kFloorShareOfCeiling * ceiling_); }

void EndpointRateLimiter::AdaptLocked(SteadyTime now) {
  // Quiet: no 429 for a quiet period, counted from the end of the latest pause (nothing was sent during it).
  if (now - std::max(last_change_, paused_until_) < kQuietPeriod) return;
  last_change_ = now;
  in_burst_ = false;
  double limit = ceiling_;
  if (last_decrease_ && now - *last_decrease_ < kThrottleMemory) {
    limit = std::min(ceiling_, std::max(rate_, kSafeShareOfThrottledRate * rate_before_burst_));
  }
  const double grown = std::min(limit, rate_ + kIncreaseShareOfCeiling * ceiling_);
  if (grown > rate_) {
    rate_ = grown;
    // The pace was set at the slower rate: a request need not wait longer than one interval of the new one.
    tat_ = std::min(tat_, now + IntervalLocked());
  }
}

bool EndpointRateLimiter::Acquire(RequestPriority priority, const Cancellation* cancellation) {
  MutexLock lock(mutex_);
  const Ticket ticket{static_cast<int>(priority), next_ticket_++};
  waiting_.insert(ticket);
  const SteadyTime arrived = clock_.Steady();
  bool waited = false;
  while (true) {
    if (cancellation != nullptr && cancellation->IsCancelled()) {
      waiting_.erase(ticket);
      turn_changed_.notify_all();
      return false;
    }
    SteadyTime now = clock_.Steady();
    AdaptLocked(now);
    nanoseconds sleep = kWaitSlice;
    if (*waiting_.begin() == ticket) {
      SteadyTime ready_at = ReadyAtLocked();
      if (ready_at <= now) {
        GrantLocked(now, priority != RequestPriority::kBackground);  // a background slot was taken already
        waiting_.erase(ticket);
        if (waited) {
          ++stats_.waits;
          stats_.wait_seconds += Seconds(now - arrived);
        }
        turn_changed_.notify_all();
        return true;
      }
      sleep = std::min<nanoseconds>(sleep, ready_at - now);
    }
    waited = true;
    clock_.WaitUntil(lock, turn_changed_, now + sleep);
  }
}

bool EndpointRateLimiter::TryAcquire(RequestPriority priority) {
  MutexLock lock(mutex_);
  SteadyTime now = clock_.Steady();
  AdaptLocked(now);
  if (!waiting_.empty() || ReadyAtLocked() > now) return false;
  GrantLocked(now, priority != RequestPriority::kBackground);
  return true;
}

size_t EndpointRateLimiter::Waiting() {
  MutexLock lock(mutex_);
  return waiting_.size();
}

bool EndpointRateLimiter::TryTakeBackgroundSlot() {
  MutexLock lock(mutex_);
  SteadyTime now = clock_.Steady();
  AdaptLocked(now);
  if (background_tat_ > now || paused_until_ > now) return false;  // never hold a slot through a pause
  background_tat_ = now + BackgroundIntervalLocked();
  return true;
}

nanoseconds EndpointRateLimiter::BackgroundDelay() {
  MutexLock lock(mutex_);
  SteadyTime now = clock_.Steady();
  SteadyTime free_at = std::max(background_tat_, paused_until_);
  return free_at > now ? free_at - now : nanoseconds(0);
}

void EndpointRateLimiter::OnThrottled(SteadyTime sent_at, std::optional<Duration> retry_after) {
  MutexLock lock(mutex_);
  SteadyTime now = clock_.Steady();
  ++stats_.throttled;
  Duration pause = retry_after ? std::clamp<Duration>(*retry_after, std::chrono::seconds(1), kLongestPause)
                               : Duration(kDefaultPause);
  paused_until_ = std::max(paused_until_, now + pause);
  if (!in_burst_) {
    in_burst_ = true;
    rate_before_burst_ = rate_;
  }
  // A request sent before the latest decrease reports on the old rate, which was already halved.
  if (!last_decrease_ || sent_at >= *last_decrease_) {
    rate_ = std::max(std::min(rate_, FloorLocked()), rate_ / 2);
    last_decrease_ = now;
    last_change_ = now;
  }
  turn_changed_.notify_all();
}

void EndpointRateLimiter::OnAccepted(SteadyTime sent_at) {
  MutexLock lock(mutex_);
  // Only a request sent after the latest decrease says that the decreased rate gets through.
  if (in_burst_ && last_decrease_ && sent_at >= *last_decrease_) in_burst_ = false;
}

RateLimiterStats EndpointRateLimiter::Stats() {
  MutexLock lock(mutex_);
  AdaptLocked(clock_.Steady());
  RateLimiterStats stats = stats_;
  stats.rate = rate_;
  return stats;
}

}  // namespace ief
