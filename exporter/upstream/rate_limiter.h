// The request budget of one IEF endpoint, shared by every project and worker that uses it (the API gateway
// throttles per tenant and API, not per project). Three ideas:
//
// - A ceiling, adapted to what the gateway says. `rate_limit` is the most we ever send. A 429 halves the rate
//   (once per round trip: answers to requests sent before the last decrease do not count again), never below a
//   floor of a twentieth of the ceiling (below it the gateway's Retry-After paces us, and lists, first in line,
//   still go every second or so), and pauses the whole endpoint for its Retry-After. After a quiet period (no 429
//   for 10 s after the pause ended) the rate grows back by a twentieth of the ceiling at a time. 429s with no
//   request let through in between (and no quiet period) are one burst: for 5 minutes after it, growth stops at
//   70% of the rate before the burst (not of the collapsed one), so a tenant policy below our ceiling costs a
//   probe every few minutes, not a 429 every few seconds, while an outage of the gateway, one long burst, does not
//   leave us crawling once it recovers. Requests are paced (GCRA) with a burst of a quarter second's worth.
// - Priorities. Waiting requests are served lists first, then urgent details (a job that changed, a new job),
//   then background details (the first fill after a start, periodic refreshes), so a small quota makes data
//   older but never starves discovery.
// - A background share. Background work only goes while all traffic together stays under 40% of the current
//   rate: the tenant's console, CI and Terraform share the same quota, and a start-up that fills in thousands of
//   jobs must not spend it (40%, not half, so that jitter never takes the total over half the quota). Workers take a background slot before they pick a background job, so no
//   worker sits on background work while urgent work waits.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>

#include "util/cancellation.h"
#include "util/clock.h"
#include "util/duration.h"
#include "util/mutex.h"

namespace ief {

enum class RequestPriority { kList = 0, kUrgent = 1, kBackground = 2 };

struct RateLimiterStats {
  double rate = 0;            // requests per second allowed now
  double ceiling = 0;         // rate_limit
  uint64_t waits = 0;         // requests that had to wait for their turn
  double wait_seconds = 0;    // how long they waited together
  uint64_t throttled = 0;     // 429 answers reported
};

class EndpointRateLimiter {
 public:
  explicit EndpointRateLimiter(double ceiling, const Clock& clock = SystemClock());

  // A reload may change rate_limit; the adapted rate and its memory of 429s stay.
  void SetCeiling(double ceiling);

  // Blocks until a request of `priority` may be sent and counts it as sent. False when `cancellation` fires
  // first (it is checked at least every 100 ms).
  bool Acquire(RequestPriority priority, const Cancellation* cancellation);

  // Acquire without waiting: true (and counted as sent) when a request of `priority` may go now and nobody waits.
  bool TryAcquire(RequestPriority priority);
  // Requests blocked in Acquire now.
  size_t Waiting();

  // Takes a slot of the background share if one is free now. A background request then calls
  // Acquire(kBackground), which only waits for its turn in the pace.
  bool TryTakeBackgroundSlot();
  // How long until TryTakeBackgroundSlot can succeed (zero: now).
  std::chrono::nanoseconds BackgroundDelay();

  // The gateway answered 429 to a request sent at `sent_at`.
  void OnThrottled(SteadyTime sent_at, std::optional<Duration> retry_after);
  // The gateway let a request sent at `sent_at` through (any answer but 429): a burst of 429s is over.
  void OnAccepted(SteadyTime sent_at);

  RateLimiterStats Stats();

  // Tunables, exposed for tests.
  static constexpr double kMinRate = 0.01;                            // requests per second, whatever the ceiling
  static constexpr double kFloorShareOfCeiling = 0.05;                // a 429 never takes the rate below this
  static constexpr double kBackgroundShare = 0.4;                     // of the current rate, all traffic counted
  static constexpr std::chrono::seconds kQuietPeriod{10};             // between two increases
  static constexpr std::chrono::minutes kThrottleMemory{5};           // growth stays below the rate before a burst
  static constexpr std::chrono::seconds kDefaultPause{2};             // a 429 without Retry-After
  static constexpr std::chrono::seconds kLongestPause{60};

 private:
  using Ticket = std::pair<int, uint64_t>;  // (priority, arrival): the set's order is the serving order

  void AdaptLocked(SteadyTime now) REQUIRES(mutex_);
  double FloorLocked() const REQUIRES(mutex_);
  SteadyTime ReadyAtLocked() const REQUIRES(mutex_);
  void GrantLocked(SteadyTime now, bool counts_against_background) REQUIRES(mutex_);
  std::chrono::nanoseconds IntervalLocked() const REQUIRES(mutex_);
  std::chrono::nanoseconds BackgroundIntervalLocked() const REQUIRES(mutex_);

  const Clock& clock_;
  Mutex mutex_;
  std::condition_variable turn_changed_;
  double ceiling_ GUARDED_BY(mutex_);
  double rate_ GUARDED_BY(mutex_);
  SteadyTime tat_ GUARDED_BY(mutex_){};             // GCRA theoretical arrival time of the pace
  SteadyTime background_tat_ GUARDED_BY(mutex_){};  // the same for the background share
  SteadyTime paused_until_ GUARDED_BY(mutex_){};
  std::optional<SteadyTime> last_decrease_ GUARDED_BY(mutex_);
  SteadyTime last_change_ GUARDED_BY(mutex_){};
  // 429s came, and since then no request was let through and no quiet period passed.
  bool in_burst_ GUARDED_BY(mutex_) = false;
  double rate_before_burst_ GUARDED_BY(mutex_) = 0;  // the rate when the latest burst's first 429 came
  std::set<Ticket> waiting_ GUARDED_BY(mutex_);
  uint64_t next_ticket_ GUARDED_BY(mutex_) = 0;
  RateLimiterStats stats_ GUARDED_BY(mutex_);
};

}  // namespace ief
