#include "ief/retry.h"

#include <catch2/catch.hpp>

#include "ief/rate_limiter.h"

using namespace std::chrono_literals;

TEST_CASE("what is retryable") {
  ief::HttpResponse response;
  CHECK(ief::IsRetryable(response));  // no HTTP answer at all
  response.transport_ok = true;
  for (long status : {429L, 500L, 502L, 503L, 504L}) {
    response.status = status;
    CHECK(ief::IsRetryable(response));
  }
  for (long status : {200L, 400L, 401L, 403L, 404L, 501L}) {
    response.status = status;
    CHECK_FALSE(ief::IsRetryable(response));
  }
}

TEST_CASE("Retry-After as seconds or as an HTTP date") {
  CHECK(ief::ParseRetryAfter("3", 0) == 3);
  CHECK(ief::ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10);
  CHECK(ief::ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490) == 0);
  CHECK(ief::ParseRetryAfter("soon", 0) < 0);
  CHECK(ief::ParseRetryAfter("", 0) < 0);
}

TEST_CASE("retry delays grow, stay capped, carry jitter, and yield to a longer Retry-After") {
  ief::RetryPolicy policy;
  policy.base_delay = 100ms;
  policy.max_delay = 1s;
  std::mt19937_64 random(42);
  for (int i = 0; i < 100; ++i) {
    auto first = ief::RetryDelay(policy, 1, "", 0, random);
    CHECK(first >= 50ms);
    CHECK(first <= 100ms);
    auto third = ief::RetryDelay(policy, 3, "", 0, random);
    CHECK(third >= 200ms);
    CHECK(third <= 400ms);
    CHECK(ief::RetryDelay(policy, 30, "", 0, random) <= 1s);
  }
  CHECK(ief::RetryDelay(policy, 1, "5", 0, random) == 5s);
}

TEST_CASE("the token bucket allows a burst, then spaces requests at the rate") {
  double now = 0;
  ief::RateLimiter limiter(2, [&] { return now; });  // 2 per second, burst 2
  CHECK(limiter.Reserve() == 0);
  CHECK(limiter.Reserve() == 0);
  CHECK(limiter.Reserve() == Approx(0.5));
  CHECK(limiter.Reserve() == Approx(1.0));  // reservations queue up
  now = 10;                                 // a long quiet spell refills to the burst, not beyond
  CHECK(limiter.Reserve() == 0);
  CHECK(limiter.Reserve() == 0);
  CHECK(limiter.Reserve() == Approx(0.5));
}

TEST_CASE("projects on one endpoint share a limiter") {
  ief::RateLimiterRegistry registry(20);
  CHECK(registry.ForEndpoint("https://a") == registry.ForEndpoint("https://a"));
  CHECK(registry.ForEndpoint("https://a") != registry.ForEndpoint("https://b"));
}
