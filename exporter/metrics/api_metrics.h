// Counters and latency of upstream API requests. Their label sets are small and stable (project x operation x
// code), so prometheus-cpp Families in a Registry are the right tool here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "upstream/http/api_observer.h"

namespace ief {

class ApiMetrics : public ApiObserver {
 public:
  explicit ApiMetrics(prometheus::Registry& registry);

  void OnRequest(const std::string& project_id, ApiOperation op, const std::string& code, double seconds) override;
  void OnParseError(const std::string& project_id, ApiOperation op) override;
  void OnTokenExpiry(const std::string& project_id, WallTime expires_at) override;
  void OnTokenClockSkew(const std::string& project_id, double seconds) override;

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Counter>& parse_errors_;
  prometheus::Family<prometheus::Gauge>& token_expiry_;
  prometheus::Family<prometheus::Gauge>& token_clock_skew_;
};

// Which of N replicas this is (--shard / --total-shards).
struct ShardAssignment {
  int ordinal = 0;
  int total = 1;
};

// How a config load (at start, or a reload) or a state file write ended.
enum class Outcome : uint8_t { kSucceeded, kFailed };

// ief_exporter_build_info, the shard gauges and the config reload gauges, set at start (reloads update the
// latter); the state file's read and write outcomes (--storage.path).
class ExporterInfoMetrics {
 public:
  ExporterInfoMetrics(prometheus::Registry& registry, ShardAssignment shard);
  void RecordConfigLoad(Outcome outcome, WallTime when);
  void RecordStateReadError() { state_read_errors_.Increment(); }
  void RecordStateWrite(Outcome outcome, WallTime when);

 private:
  prometheus::Gauge& reload_successful_;
  prometheus::Gauge& reload_success_timestamp_;
  prometheus::Counter& state_read_errors_;
  prometheus::Counter& state_write_errors_;
  prometheus::Gauge& state_write_timestamp_;
};

}  // namespace ief
