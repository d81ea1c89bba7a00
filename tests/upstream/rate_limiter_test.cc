#include "upstream/rate_limiter.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "support/manual_clock.h"
#include "support/process.h"

using namespace std::chrono_literals;
using ief::RequestPriority;
using ief::testing::ManualClock;

namespace {

// Sends `count` requests at `per_second` (as far as the limiter lets them go) and returns how many went.
int SendAtRate(ief::EndpointRateLimiter& limiter, ManualClock& clock, int count, double per_second) {
  int sent = 0;
  for (int i = 0; i < count; ++i) {
    clock.Advance(std::chrono::duration<double>(1.0 / per_second));
    if (limiter.TryAcquire(RequestPriority::kUrgent)) ++sent;
  }
  return sent;
}

}  // namespace

TEST_CASE("requests are paced at the rate with a burst of a quarter second's worth") {
  ManualClock clock;
  ief::EndpointRateLimiter limiter(20, clock);  // burst 5
  for (int i = 0; i < 5; ++i) CHECK(limiter.TryAcquire(RequestPriority::kList));
  CHECK_FALSE(limiter.TryAcquire(RequestPriority::kList));
  clock.Advance(50ms);  // one interval at 20/s
  CHECK(limiter.TryAcquire(RequestPriority::kList));
  CHECK_FALSE(limiter.TryAcquire(RequestPriority::kList));

  ief::EndpointRateLimiter slow(2, clock);  // burst 1: one every 500 ms
  CHECK(slow.TryAcquire(RequestPriority::kUrgent));
  clock.Advance(499ms);
  CHECK_FALSE(slow.TryAcquire(RequestPriority::kUrgent));
  clock.Advance(1ms);
  CHECK(slow.TryAcquire(RequestPriority::kUrgent));
}

TEST_CASE("a 429 halves the rate and pauses the endpoint for its Retry-After") {
  ManualClock clock;
  ief::EndpointRateLimiter limiter(20, clock);
  REQUIRE(SendAtRate(limiter, clock, 30, 10) == 30);
  limiter.OnThrottled(clock.Steady(), std::chrono::seconds(3));
  CHECK(limiter.Stats().rate == 10);
  CHECK(limiter.Stats().throttled == 1);
  clock.Advance(2900ms);
  CHECK_FALSE(limiter.TryAcquire(RequestPriority::kList));  // paused, even for lists
  clock.Advance(100ms);
  CHECK(limiter.TryAcquire(RequestPriority::kList));
  limiter.OnThrottled(clock.Steady(), std::nullopt);  // sent after the first decrease: halves again
  CHECK(limiter.Stats().rate == 5);
}

TEST_CASE("429s for requests sent before a decrease do not decrease again") {
  ManualClock clock;
  ief::EndpointRateLimiter limiter(8, clock);
  const ief::SteadyTime early = clock.Steady();
  SendAtRate(limiter, clock, 16, 8);
  limiter.OnThrottled(clock.Steady(), std::nullopt);
  double after_first = limiter.Stats().rate;
  limiter.OnThrottled(early, std::nullopt);  // sent at the old rate: already answered for
  CHECK(limiter.Stats().rate == after_first);
  CHECK(limiter.Stats().throttled == 2);
}

TEST_CASE("after a quiet period the rate grows back, first only to 70% of the rate before the burst, later to the "
          "ceiling") {
  ManualClock clock;
  ief::EndpointRateLimiter limiter(20, clock);
  const auto quiet = ief::EndpointRateLimiter::kDefaultPause + ief::EndpointRateLimiter::kQuietPeriod;
  limiter.OnThrottled(clock.Steady(), std::nullopt);  // 20 -> 10
  limiter.OnThrottled(clock.Steady(), std::nullopt);  // 10 -> 5: one burst, which began at 20
  CHECK(limiter.Stats().rate == 5);
  clock.Advance(quiet - 1ms);  // the quiet period counts from the end of the pause
  CHECK(limiter.Stats().rate == 5);
  clock.Advance(1ms);
  CHECK(limiter.Stats().rate == 6);  // a twentieth of the ceiling
  for (int i = 0; i < 20; ++i) {  // 200 s more of quiet, still within the memory of the burst
    clock.Advance(ief::EndpointRateLimiter::kQuietPeriod);
    (void)limiter.Stats();
  }
  CHECK(limiter.Stats().rate == Approx(0.7 * 20));
  // A second burst, at 14: the gateway's policy lies below it, so growth now stops at 70% of 14.
  limiter.OnThrottled(clock.Steady(), std::nullopt);
  CHECK(limiter.Stats().rate == Approx(7));
  for (int i = 0; i < 20; ++i) {
    clock.Advance(quiet);
    (void)limiter.Stats();
  }
  CHECK(limiter.Stats().rate == Approx(0.7 * 14));
  clock.Advance(ief::EndpointRateLimiter::kThrottleMemory);
  for (int i = 0; i < 25; ++i) {
    clock.Advance(ief::EndpointRateLimiter::kQuietPeriod);
    (void)limiter.Stats();
  }
  CHECK(limiter.Stats().rate == 20);  // never above the ceiling
}

TEST_CASE("a request let through ends a burst: the next 429 is remembered at the rate it throttled") {
  ManualClock clock;
  ief::EndpointRateLimiter limiter(20, clock);
  limiter.OnThrottled(clock.Steady(), std::nullopt);  // 20 -> 10
  clock.Advance(2s);
  limiter.OnAccepted(clock.Steady());  // 10 gets through: the burst is over
  clock.Advance(100ms);
  limiter.OnThrottled(clock.Steady(), std::nullopt);  // a new burst, at 10: 10 -> 5
  CHECK(limiter.Stats().rate == 5);
  for (int i = 0; i < 20; ++i) {
    clock.Advance(ief::EndpointRateLimiter::kDefaultPause + ief::EndpointRateLimiter::kQuietPeriod);
    (void)limiter.Stats();
  }
  CHECK(limiter.Stats().rate == Approx(0.7 * 10));  // a tenant policy near 10/s is probed every 5 minutes only
  // An answer to a request sent before the decrease says nothing about the decreased rate.
  const ief::SteadyTime early = clock.Steady();
  clock.Advance(1s);
  limiter.OnThrottled(clock.Steady(), std::nullopt);  // a third burst, at 7
  limiter.OnAccepted(early);
  clock.Advance(1s);
  limiter.OnThrottled(clock.Steady(), std::nullopt);  // still the third burst
  for (int i = 0; i < 20; ++i) {
    clock.Advance(ief::EndpointRateLimiter::kDefaultPause + ief::EndpointRateLimiter::kQuietPeriod);
    (void)limiter.Stats();
  }
  CHECK(limiter.Stats().rate == Approx(0.7 * 7));
}

TEST_CASE("a 429 never takes the rate below a twentieth of the ceiling") {
  ManualClock clock;
  ief::EndpointRateLimiter limiter(20, clock);
  for (int i = 0; i < 20; ++i) {
    clock.Advance(1100ms);
    limiter.OnThrottled(clock.Steady(), std::chrono::seconds(1));
  }
  CHECK(limiter.Stats().rate == 1);  // was 0.01: one request every 100 s
  ief::EndpointRateLimiter tiny(0.1, clock);
  for (int i = 0; i < 10; ++i) tiny.OnThrottled(clock.Steady(), std::nullopt);
  CHECK(tiny.Stats().rate == Approx(0.01));  // the absolute floor
}

namespace {

// The scenario, on a manual clock: a list walk (one call) is due every 2 s, 5 detail requests a second
// want to go besides, and the gateway answers every request 429 with Retry-After: 1 for the first 40 s. Returns
// the times (seconds from the start) at which list calls went.
std::vector<double> ListCallsThroughAnOutage(ManualClock& clock, ief::EndpointRateLimiter& limiter,
                                             double run_seconds) {
  const ief::SteadyTime start = clock.Steady();
  auto seconds_since_start = [&] { return std::chrono::duration<double>(clock.Steady() - start).count(); };
  std::vector<double> list_calls;
  double list_due = 0, detail_due = 0;
  auto answer = [&](double sent) {
    if (sent < 40) {
      limiter.OnThrottled(clock.Steady(), std::chrono::seconds(1));
    } else {
      limiter.OnAccepted(clock.Steady());
    }
  };
  while (seconds_since_start() < run_seconds) {
    const double now = seconds_since_start();
    if (now >= list_due && limiter.TryAcquire(RequestPriority::kList)) {
      list_calls.push_back(now);
      list_due = now + 2;
      answer(now);
    }
    if (now >= detail_due && limiter.TryAcquire(RequestPriority::kUrgent)) {
      detail_due = now + 0.2;
      answer(now);
    }
    clock.Advance(10ms);
  }
  return list_calls;
}

}  // namespace

TEST_CASE("after 40 s of 429s the list is back to its interval within seconds of the gateway's recovery") {
  ManualClock clock;
  ief::EndpointRateLimiter limiter(20, clock);
  std::vector<double> calls = ListCallsThroughAnOutage(clock, limiter, 400);
  // During the outage: throttled, but never starved (the floor), never hammering (the pauses).
  long during = std::count_if(calls.begin(), calls.end(), [](double t) { return t < 40; });
  CHECK(during >= 10);
  CHECK(during <= 20);
  // From the first list call after the recovery on, the list keeps its interval (was one call every 26 s for
  // about 5 minutes): a gap is 2 s plus at most a part of one interval of the pace, which detail requests share.
  auto first_after = std::find_if(calls.begin(), calls.end(), [](double t) { return t >= 40; });
  REQUIRE(first_after != calls.end());
  CHECK(*first_after - 40 <= 2.5);
  for (auto it = first_after; it + 1 != calls.end(); ++it) {
    INFO("list call at " << *it << " s");
    CHECK(*(it + 1) - *it <= 2.5);
  }
  const double mean_gap = (calls.back() - *first_after) / static_cast<double>(calls.end() - first_after - 1);
  CHECK(mean_gap <= 2.1);
  // The rate grows back to 70% of the rate before the burst within about 2 minutes, the ceiling after the memory.
  ManualClock grow_clock;
  ief::EndpointRateLimiter grow(20, grow_clock);
  (void)ListCallsThroughAnOutage(grow_clock, grow, 41);
  double reached_cap_after = 0;
  while (grow.Stats().rate < 0.7 * 20 - 1e-9 && reached_cap_after < 600) {
    grow_clock.Advance(1s);
    reached_cap_after += 1;
  }
  CHECK(reached_cap_after <= 150);
  grow_clock.Advance(ief::EndpointRateLimiter::kThrottleMemory);
  for (int i = 0; i < 10; ++i) {
    grow_clock.Advance(ief::EndpointRateLimiter::kQuietPeriod);
    (void)grow.Stats();
  }
  CHECK(grow.Stats().rate == 20);
}

TEST_CASE("background work only goes while all traffic stays under 40% of the rate") {
  ManualClock clock;
  ief::EndpointRateLimiter limiter(4, clock);  // background share: 1.6 requests/s, one every 625 ms
  CHECK(limiter.TryTakeBackgroundSlot());
  CHECK_FALSE(limiter.TryTakeBackgroundSlot());
  CHECK(limiter.BackgroundDelay() == 625ms);
  clock.Advance(625ms);
  CHECK(limiter.TryTakeBackgroundSlot());
  // Urgent traffic at the full rate leaves the background share nothing while it lasts...
  clock.Advance(625ms);
  for (int i = 0; i < 8; ++i) {
    REQUIRE(limiter.TryAcquire(RequestPriority::kUrgent));
    clock.Advance(250ms);
  }
  CHECK_FALSE(limiter.TryTakeBackgroundSlot());
  // ...but at most a couple of seconds of it stand in the way once it stops.
  clock.Advance(2s);
  CHECK(limiter.TryTakeBackgroundSlot());
}

TEST_CASE("waiting requests are served lists first, then urgent, then background - cancellation frees a waiter") {
  ManualClock clock;  // waiters wake when it is moved: nothing here waits in real time
  ief::EndpointRateLimiter limiter(2, clock);  // one every 500 ms
  REQUIRE(limiter.TryAcquire(RequestPriority::kUrgent));
  std::mutex mutex;
  std::vector<RequestPriority> served;
  auto served_count = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return served.size();
  };
  auto wait_for = [&](RequestPriority priority) {
    return std::thread([&, priority] {
      if (limiter.Acquire(priority, nullptr)) {
        std::lock_guard<std::mutex> lock(mutex);
        served.push_back(priority);
      }
    });
  };
  std::thread background = wait_for(RequestPriority::kBackground);
  REQUIRE(ief::testing::Eventually([&] { return limiter.Waiting() == 1; }));
  std::thread urgent = wait_for(RequestPriority::kUrgent);
  REQUIRE(ief::testing::Eventually([&] { return limiter.Waiting() == 2; }));
  std::thread list = wait_for(RequestPriority::kList);
  REQUIRE(ief::testing::Eventually([&] { return limiter.Waiting() == 3; }));
  CHECK(served_count() == 0);  // the clock has not moved
  for (size_t step = 1; step <= 3; ++step) {  // one at a time as the clock moves on
    CHECK(ief::testing::Eventually([&] {
      clock.Advance(100ms);
      return served_count() >= step;
    }));
    CHECK(served_count() == step);
  }
  list.join();
  urgent.join();
  background.join();
  CHECK(served == std::vector<RequestPriority>{RequestPriority::kList, RequestPriority::kUrgent,
                                               RequestPriority::kBackground});
  CHECK(limiter.Stats().waits == 3);

  ief::Cancellation cancellation;
  cancellation.Cancel();
  CHECK_FALSE(limiter.Acquire(RequestPriority::kUrgent, &cancellation));  // at once: the clock is not moved
}

TEST_CASE("a new ceiling applies at once unless the gateway throttled lately") {
  ManualClock clock;
  ief::EndpointRateLimiter limiter(20, clock);
  limiter.SetCeiling(50);
  CHECK(limiter.Stats().rate == 50);
  CHECK(limiter.Stats().ceiling == 50);
  SendAtRate(limiter, clock, 20, 10);
  limiter.OnThrottled(clock.Steady(), std::nullopt);
  const double throttled = limiter.Stats().rate;
  limiter.SetCeiling(100);
  CHECK(limiter.Stats().rate == throttled);
  limiter.SetCeiling(1);
  CHECK(limiter.Stats().rate == 1);
}
