// When and how long to wait before retrying an upstream request.
// Retried: no HTTP answer (connect failure, timeout), 429, 500, 502, 503, 504. Nothing else: a 400/401/403/404
// will not change by asking again, and retrying a wrong credential risks locking the account.
#pragma once

#include <optional>
#include <random>
#include <string_view>

#include "upstream/http/http.h"
#include "util/clock.h"
#include "util/duration.h"

namespace ief {

struct RetryPolicy {
  int max_retries = 2;
  Duration base_delay = std::chrono::milliseconds(250);
  Duration max_delay = std::chrono::seconds(10);
};

bool IsRetryable(const Result<HttpResponse>& response);

// The wait a Retry-After value asks for (delta-seconds, or an HTTP date relative to `now`); nullopt when unreadable.
std::optional<Duration> ParseRetryAfter(std::string_view value, WallTime now);

// The wait before retry number `retry` (1-based): a random point between half and all of base * 2^(retry-1)
// (capped at max_delay), so clients that failed together do not retry together; or what the server's Retry-After
// asks for when that is longer.
Duration RetryDelay(const RetryPolicy& policy, int retry, std::optional<Duration> retry_after,
                    std::mt19937_64& random);

}  // namespace ief
