#include "metrics/api_metrics.h"

#include <prometheus/gauge.h>

#include "version.h"

namespace ief {
namespace {

// Latency buckets for a cloud API: 5 ms to 30 s.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                 0.5,   1,    2.5,   5,    10,  30};

}  // namespace

ApiMetrics::ApiMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("ief_api_requests_total")
                    .Help("Requests sent to the IEF and IAM APIs, by HTTP status (error: no answer).")
                    .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("ief_api_request_duration_seconds")
                     .Help("Latency of requests to the IEF and IAM APIs.")
                     .Register(registry)),
      parse_errors_(prometheus::BuildCounter()
                        .Name("ief_api_parse_errors_total")
                        .Help("API answers that could not be parsed.")
                        .Register(registry)),
      token_expiry_(prometheus::BuildGauge()
                        .Name("ief_auth_token_expiry_timestamp_seconds")
                        .Help("When the current IAM token of the project expires.")
                        .Register(registry)),
      token_clock_skew_(prometheus::BuildGauge()
                            .Name("ief_auth_token_clock_skew_seconds")
                            .Help("IAM's clock minus the exporter's, from the current IAM token: issued_at minus "
                                  "the time it arrived; without issued_at, how far an expiry already past lies "
                                  "behind (0 otherwise).")
                            .Register(registry)) {}

void ApiMetrics::OnRequest(const std::string& project_id, ApiOperation op, const std::string& code,
                           double seconds) {
  std::string operation(OperationName(op));
  requests_.Add({{"project_id", project_id}, {"operation", operation}, {"code", code}}).Increment();
  durations_.Add({{"project_id", project_id}, {"operation", operation}}, kLatencyBuckets).Observe(seconds);
}

void ApiMetrics::OnParseError(const std::string& project_id, ApiOperation op) {
  parse_errors_.Add({{"project_id", project_id}, {"operation", std::string(OperationName(op))}}).Increment();
}

void ApiMetrics::OnTokenExpiry(const std::string& project_id, WallTime expires_at) {
  token_expiry_.Add({{"project_id", project_id}}).Set(UnixSeconds(expires_at));
}

void ApiMetrics::OnTokenClockSkew(const std::string& project_id, double seconds) {
  token_clock_skew_.Add({{"project_id", project_id}}).Set(seconds);
}

ExporterInfoMetrics::ExporterInfoMetrics(prometheus::Registry& registry, ShardAssignment shard)
    : reload_successful_(prometheus::BuildGauge()
                             .Name("ief_exporter_config_last_reload_successful")
                             .Help("1 if the latest config load succeeded.")
                             .Register(registry)
                             .Add({})),
      reload_success_timestamp_(prometheus::BuildGauge()
                                    .Name("ief_exporter_config_last_reload_success_timestamp_seconds")
                                    .Help("When the config was last loaded successfully.")
                                    .Register(registry)
                                    .Add({})),
      state_read_errors_(prometheus::BuildCounter()
                             .Name("ief_exporter_state_read_errors_total")
                             .Help("State files (--storage.path) that could not be used at start-up (unreadable, "
                                   "damaged, another version): moved aside, history started afresh.")
                             .Register(registry)
                             .Add({})),
      state_write_errors_(prometheus::BuildCounter()
                              .Name("ief_exporter_state_write_errors_total")
                              .Help("Failed writes of the state file (--storage.path): a full or read-only disk.")
                              .Register(registry)
                              .Add({})),
      state_write_timestamp_(prometheus::BuildGauge()
                                 .Name("ief_exporter_state_last_write_success_timestamp_seconds")
                                 .Help("When the state file (--storage.path) was last written successfully.")
                                 .Register(registry)
                                 .Add({})) {
  prometheus::BuildGauge()
      .Name("ief_exporter_build_info")
      .Help("ief_exporter build identity; always 1.")
      .Register(registry)
      .Add({{"version", kVersion}, {"revision", kRevision}})
      .Set(1);
  prometheus::BuildGauge()
      .Name("ief_exporter_shard_ordinal")
      .Help("This replica's shard (--shard).")
      .Register(registry)
      .Add({})
      .Set(shard.ordinal);
  prometheus::BuildGauge()
      .Name("ief_exporter_total_shards")
      .Help("How many replicas split the jobs (--total-shards).")
      .Register(registry)
      .Add({})
      .Set(shard.total);
}

void ExporterInfoMetrics::RecordConfigLoad(Outcome outcome, WallTime when) {
  const bool success = outcome == Outcome::kSucceeded;
  reload_successful_.Set(success ? 1 : 0);
  if (success) reload_success_timestamp_.Set(UnixSeconds(when));
}

void ExporterInfoMetrics::RecordStateWrite(Outcome outcome, WallTime when) {
  if (outcome == Outcome::kSucceeded) {
    state_write_timestamp_.Set(UnixSeconds(when));
  } else {
    state_write_errors_.Increment();
  }
}

}  // namespace ief
