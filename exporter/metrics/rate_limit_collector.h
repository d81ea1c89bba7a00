// The endpoints' rate limiters as metrics, read at scrape time (their state changes by itself: the adaptive rate
// grows back between requests):
//   ief_api_rate_limit_requests_per_second{endpoint}  the rate allowed now (rate_limit, or less after 429s)
//   ief_api_rate_limit_waits_total{endpoint}          requests that had to wait for their turn
//   ief_api_rate_limit_wait_seconds_total{endpoint}   how long they waited together
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "upstream/rate_limiter.h"

namespace ief {

class RateLimitCollector : public prometheus::Collectable {
 public:
  using Source = std::function<std::vector<std::pair<std::string, RateLimiterStats>>()>;
  explicit RateLimitCollector(Source source) : source_(std::move(source)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Source source_;
};

}  // namespace ief
