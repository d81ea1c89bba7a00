// When and how long to wait before retrying an upstream request.
// Retried: no HTTP answer (connect failure, timeout), 429, 500, 502, 503, 504. Nothing else: a 400/401/403/404
// will not change by asking again, and retrying a wrong credential risks locking the account.
#pragma once

#include <random>
#include <string>

#include "ief/http.h"
#include "util/duration.h"

namespace ief {

struct RetryPolicy {
  int max_retries = 2;
  Duration base_delay = std::chrono::milliseconds(250);
  Duration max_delay = std::chrono::seconds(10);
};

bool IsRetryable(const HttpResponse& response);

// Seconds in a Retry-After value (delta-seconds or an HTTP date, relative to `now_unix`); negative if unreadable.
double ParseRetryAfter(const std::string& value, double now_unix);

// The wait before retry number `retry` (1-based): a random point between half and all of base * 2^(retry-1)
// (capped at max_delay), so clients that failed together do not retry together; or the server's Retry-After
// when it asks for longer.
Duration RetryDelay(const RetryPolicy& policy, int retry, const std::string& retry_after, double now_unix,
                    std::mt19937_64& random);

}  // namespace ief
