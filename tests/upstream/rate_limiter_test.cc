#include "upstream/rate_limiter.h"

#include <catch2/catch.hpp>
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

TEST_CASE("after a quiet period the rate grows back, first only to 70% of the throttled rate, later to the ceiling") {
  ManualClock clock;
  ief::EndpointRateLimiter limiter(20, clock);
  limiter.OnThrottled(clock.Steady(), std::nullopt);  // 20 -> 10
  limiter.OnThrottled(clock.Steady(), std::nullopt);  // 10 -> 5: the gateway let 5 through but not 10
  CHECK(limiter.Stats().rate == 5);
  clock.Advance(ief::EndpointRateLimiter::kQuietPeriod);
  CHECK(limiter.Stats().rate == 6);  // a twentieth of the ceiling
  for (int i = 0; i < 20; ++i) {  // 200 s more of quiet, still within the memory of the 429
    clock.Advance(ief::EndpointRateLimiter::kQuietPeriod);
    (void)limiter.Stats();
  }
  CHECK(limiter.Stats().rate == Approx(0.7 * 10));
  clock.Advance(ief::EndpointRateLimiter::kThrottleMemory);
  for (int i = 0; i < 25; ++i) {
    clock.Advance(ief::EndpointRateLimiter::kQuietPeriod);
    (void)limiter.Stats();
  }
  CHECK(limiter.Stats().rate == 20);  // never above the ceiling
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
  ief::EndpointRateLimiter limiter(2);  // the real clock: one every 500 ms
  REQUIRE(limiter.TryAcquire(RequestPriority::kUrgent));
  std::mutex mutex;
  std::vector<RequestPriority> served;
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
  list.join();
  urgent.join();
  background.join();
  CHECK(served == std::vector<RequestPriority>{RequestPriority::kList, RequestPriority::kUrgent,
                                               RequestPriority::kBackground});
  CHECK(limiter.Stats().waits == 3);

  ief::Cancellation cancellation;
  cancellation.Cancel();
  const auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(limiter.Acquire(RequestPriority::kUrgent, &cancellation));
  CHECK(std::chrono::steady_clock::now() - started < 1s);
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
