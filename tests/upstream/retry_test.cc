#include "upstream/retry.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

namespace {

ief::Result<ief::HttpResponse> Status(long status) {
  ief::HttpResponse response;
  response.status = status;
  return response;
}

}  // namespace

TEST_CASE("what is retryable") {
  CHECK(ief::IsRetryable(ief::Error(ief::ErrorKind::kTransport, "Timeout was reached")));
  CHECK_FALSE(ief::IsRetryable(ief::Error(ief::ErrorKind::kCancelled, "cancelled")));
  for (long status : {429L, 500L, 502L, 503L, 504L}) CHECK(ief::IsRetryable(Status(status)));
  for (long status : {200L, 302L, 400L, 401L, 403L, 404L, 501L}) CHECK_FALSE(ief::IsRetryable(Status(status)));
}

TEST_CASE("Retry-After as seconds or as an HTTP date") {
  const ief::WallTime now = ief::FromUnixSeconds(1445412470);
  CHECK(ief::ParseRetryAfter("3", now) == 3s);
  CHECK(ief::ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now) == 10s);
  CHECK(ief::ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now + 20s) == 0s);
  CHECK(ief::ParseRetryAfter("99999999999999999999999", now) == 24h);  // absurd, but never an overflow
  CHECK_FALSE(ief::ParseRetryAfter("soon", now));
  CHECK_FALSE(ief::ParseRetryAfter("-5", now));
  CHECK_FALSE(ief::ParseRetryAfter("", now));
}

TEST_CASE("retry delays grow, stay capped, carry jitter, and yield to a longer Retry-After") {
  ief::RetryPolicy policy{.base_delay = 100ms, .max_delay = 1s};
  std::mt19937_64 random(42);
  for (int i = 0; i < 100; ++i) {
    auto first = ief::RetryDelay(policy, 1, std::nullopt, random);
    CHECK(first >= 50ms);
    CHECK(first <= 100ms);
    auto third = ief::RetryDelay(policy, 3, std::nullopt, random);
    CHECK(third >= 200ms);
    CHECK(third <= 400ms);
    CHECK(ief::RetryDelay(policy, 30, std::nullopt, random) <= 1s);
  }
  CHECK(ief::RetryDelay(policy, 1, ief::Duration(5s), random) == 5s);
}
