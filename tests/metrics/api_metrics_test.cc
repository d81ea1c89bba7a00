#include "metrics/api_metrics.h"
#include "metrics/rate_limit_collector.h"

#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <sstream>

namespace {

std::string Render(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

}  // namespace

TEST_CASE("API requests are counted by project, operation and code") {
  prometheus::Registry registry;
  ief::ApiMetrics metrics(registry);
  metrics.OnRequest("p1", ief::ApiOperation::kShowJob, "200", 0.02);
  metrics.OnRequest("p1", ief::ApiOperation::kShowJob, "200", 0.03);
  metrics.OnRequest("p1", ief::ApiOperation::kShowJob, "error", 10);
  metrics.OnParseError("p1", ief::ApiOperation::kShowJob);
  std::string text = Render(registry);
  CHECK_THAT(text, Catch::Contains("ief_api_requests_total{code=\"200\",operation=\"show_job\",project_id=\"p1\"} 2"));
  CHECK_THAT(text, Catch::Contains("ief_api_requests_total{code=\"error\",operation=\"show_job\",project_id=\"p1\"} 1"));
  CHECK_THAT(text, Catch::Contains("ief_api_request_duration_seconds_count{operation=\"show_job\",project_id=\"p1\"} 3"));
  CHECK_THAT(text, Catch::Contains("ief_api_request_duration_seconds_bucket{operation=\"show_job\",project_id=\"p1\",le=\"0.025\"} 1"));
  CHECK_THAT(text, Catch::Contains("ief_api_parse_errors_total{operation=\"show_job\",project_id=\"p1\"} 1"));
}

TEST_CASE("build info and config load state are exported") {
  prometheus::Registry registry;
  ief::ExporterInfoMetrics info(registry, {1, 3});
  info.RecordConfigLoad(ief::Outcome::kSucceeded, ief::FromUnixSeconds(1700000000));
  std::string text = Render(registry);
  CHECK_THAT(text, Catch::Contains("ief_exporter_build_info{revision=\""));
  CHECK_THAT(text, Catch::Contains("ief_exporter_config_last_reload_successful 1"));
  CHECK_THAT(text, Catch::Contains("ief_exporter_shard_ordinal 1\n"));
  CHECK_THAT(text, Catch::Contains("ief_exporter_total_shards 3\n"));
  CHECK_THAT(text, Catch::Contains("ief_exporter_config_last_reload_success_timestamp_seconds 1700000000"));
  info.RecordConfigLoad(ief::Outcome::kFailed, ief::FromUnixSeconds(1700000999));
  text = Render(registry);
  CHECK_THAT(text, Catch::Contains("ief_exporter_config_last_reload_successful 0"));
  CHECK_THAT(text, Catch::Contains("ief_exporter_config_last_reload_success_timestamp_seconds 1700000000"));
}

TEST_CASE("the rate limiters' state is collected at scrape time") {
  ief::RateLimitCollector collector([] {
    ief::RateLimiterStats stats{.rate = 2.5, .ceiling = 20, .waits = 7, .wait_seconds = 1.5, .throttled = 3};
    return std::vector<std::pair<std::string, ief::RateLimiterStats>>{{"https://ief.example.com", stats}};
  });
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector.Collect());
  const std::string text = out.str();
  CHECK_THAT(text, Catch::Contains("ief_api_rate_limit_requests_per_second{endpoint=\"https://ief.example.com\"} 2.5"));
  CHECK_THAT(text, Catch::Contains("ief_api_rate_limit_waits_total{endpoint=\"https://ief.example.com\"} 7"));
  CHECK_THAT(text, Catch::Contains("ief_api_rate_limit_wait_seconds_total{endpoint=\"https://ief.example.com\"} 1.5"));
  CHECK(ief::RateLimitCollector([] { return std::vector<std::pair<std::string, ief::RateLimiterStats>>{}; })
            .Collect()
            .empty());
}
