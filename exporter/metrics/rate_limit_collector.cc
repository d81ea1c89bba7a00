#include "metrics/rate_limit_collector.h"

namespace ief {
namespace {

using prometheus::MetricType;

prometheus::ClientMetric Sample(const std::string& endpoint, MetricType type, double value) {
  prometheus::ClientMetric metric;
  metric.label.push_back({"endpoint", endpoint});
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return metric;
}

}  // namespace

std::vector<prometheus::MetricFamily> RateLimitCollector::Collect() const {
  prometheus::MetricFamily rate{"ief_api_rate_limit_requests_per_second",
                                "Requests per second each IEF endpoint allows now: rate_limit, or less after the API "
                                "gateway answered 429.",
                                MetricType::Gauge, {}};
  prometheus::MetricFamily waits{"ief_api_rate_limit_waits_total",
                                 "Requests that waited for their turn under the endpoint's rate limit.",
                                 MetricType::Counter, {}};
  prometheus::MetricFamily wait_seconds{"ief_api_rate_limit_wait_seconds_total",
                                        "Seconds requests spent waiting for the endpoint's rate limit.",
                                        MetricType::Counter, {}};
  try {
    for (const auto& [endpoint, stats] : source_()) {
      rate.metric.push_back(Sample(endpoint, MetricType::Gauge, stats.rate));
      waits.metric.push_back(Sample(endpoint, MetricType::Counter, static_cast<double>(stats.waits)));
      wait_seconds.metric.push_back(Sample(endpoint, MetricType::Counter, stats.wait_seconds));
    }
  } catch (const std::exception&) {
    return {};  // nothing may escape Collect()
  }
  if (rate.metric.empty()) return {};
  return {rate, waits, wait_seconds};
}

}  // namespace ief
