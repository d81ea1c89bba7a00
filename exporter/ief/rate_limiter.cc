#include "ief/rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace ief {
namespace {

double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

RateLimiter::RateLimiter(double per_second, Clock clock)
    : rate_(per_second),
      burst_(std::max(1.0, per_second)),
      clock_(clock ? std::move(clock) : Clock(MonotonicSeconds)),
      tokens_(burst_),
      last_refill_(clock_()) {}

double RateLimiter::Reserve() {
  std::lock_guard<std::mutex> lock(mutex_);
  double now = clock_();
  tokens_ = std::min(burst_, tokens_ + (now - last_refill_) * rate_);
  last_refill_ = now;
  tokens_ -= 1;  // may go negative: a reservation the caller waits out
  return tokens_ >= 0 ? 0 : -tokens_ / rate_;
}

bool RateLimiter::Acquire(Cancellation* cancellation) {
  double wait = Reserve();
  if (wait <= 0) return true;
  auto duration = std::chrono::duration<double>(wait);
  if (cancellation != nullptr) return cancellation->SleepFor(duration);
  std::this_thread::sleep_for(duration);
  return true;
}

std::shared_ptr<RateLimiter> RateLimiterRegistry::ForEndpoint(const std::string& endpoint) {
  auto& limiter = limiters_[endpoint];
  if (!limiter) limiter = std::make_shared<RateLimiter>(per_second_);
  return limiter;
}

}  // namespace ief
