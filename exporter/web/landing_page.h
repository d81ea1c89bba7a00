// The landing page `/`: what an operator opens first. The tracked jobs, newest first, with status, a progress bar
// (succeeded / failed / remaining tasks), age and the most common failure reasons, and the exporter's own health
// (API up per project, last poll, current rate limit). Plain server-rendered HTML and CSS: no JavaScript, no
// external assets. Every text that came from the API is escaped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "poll/snapshot.h"
#include "upstream/rate_limiter.h"
#include "util/clock.h"

namespace ief {

struct LandingJob {
  std::string project_id;
  std::string job_id;
  std::string job_name;
  std::string job_type;
  std::string status;                    // empty until the API said
  std::optional<WallTime> created_at;
  int64_t tasks_total = 0;
  int64_t tasks_succeeded = 0;
  int64_t tasks_failed = 0;
  std::vector<std::pair<std::string, int64_t>> top_reasons;  // failure reason -> tasks, most common first
  bool last_fetch_ok = false;
  bool has_details = false;              // false: only the list's summary is known so far
};

struct LandingProject {
  std::string project_id;
  bool has_answered = false;
  bool up = false;
  std::optional<WallTime> history_since;  // the rollout history counts what happened after this
};

struct LandingEndpoint {
  std::string endpoint;
  double rate = 0;     // requests per second allowed now
  double ceiling = 0;  // rate_limit
};

// Rows beyond this many are left out (newest first, so the oldest go): a browser lays out a 10,000-row table in
// seconds and nobody reads that far, while 500 rows stay a few hundred KB. The page says how many it left out,
// and its per-status counts cover every job.
inline constexpr size_t kLandingPageMaxJobs = 500;

struct LandingPage {
  std::string telemetry_path = "/metrics";
  size_t max_jobs = kLandingPageMaxJobs;
  WallTime now{};
  std::optional<double> last_round_seconds;  // how long the latest poll round took; none before the first
  std::vector<LandingProject> projects;
  std::vector<LandingEndpoint> endpoints;
  std::vector<LandingJob> jobs;  // in any order: the page sorts them newest first
};

std::string RenderLandingPage(const LandingPage& page);

// The page's data from what the exporter knows: the latest snapshot and the endpoints' rate limiters.
LandingPage LandingPageFrom(const Snapshot& snapshot,
                            const std::vector<std::pair<std::string, RateLimiterStats>>& rate_limits, WallTime now);

// Escapes text for HTML element content and quoted attribute values.
std::string HtmlEscape(std::string_view text);

// How long ago `created` was, as people read it: "45s", "12m", "3h 12m", "2d 4h"; "0s" for a time in the future
// (clocks differ).
std::string FormatAge(WallTime created, WallTime now);

}  // namespace ief
