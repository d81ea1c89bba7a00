// A token bucket per IEF endpoint, shared by every project on that endpoint (the API quota is per tenant and
// endpoint, not per project). Acquire() reserves a slot and sleeps until it comes, so callers are served in order.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "util/cancellation.h"

namespace ief {

class RateLimiter {
 public:
  using Clock = std::function<double()>;  // seconds, monotonic
  // `per_second` requests per second with bursts of up to max(1, per_second).
  explicit RateLimiter(double per_second, Clock clock = nullptr);

  // Returns how long the caller must wait before sending (0 when a token is free), and takes the token.
  double Reserve();
  // Reserve() and sleep; false when cancelled while waiting.
  bool Acquire(Cancellation* cancellation);

 private:
  const double rate_;
  const double burst_;
  Clock clock_;
  std::mutex mutex_;
  double tokens_;
  double last_refill_;
};

// One limiter per endpoint URL.
class RateLimiterRegistry {
 public:
  explicit RateLimiterRegistry(double per_second) : per_second_(per_second) {}
  std::shared_ptr<RateLimiter> ForEndpoint(const std::string& endpoint);

 private:
  const double per_second_;
  std::map<std::string, std::shared_ptr<RateLimiter>> limiters_;
};

}  // namespace ief
