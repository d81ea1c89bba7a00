// Pieces of job discovery that need no threads: which listed jobs to track, which shard owns a job, whether a
// listed summary says the details are worth fetching, and reading every page of ListBatchJob.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "config/config.h"
#include "ief/ief_client.h"
#include "ief/job.h"

namespace ief {

// A project's discovery.* settings, with the regex compiled once.
class DiscoveryFilter {
 public:
  explicit DiscoveryFilter(const DiscoveryConfig& config);
  // Whether a listed job should be tracked: its type is wanted, its whole name matches, it is young enough.
  bool Matches(const BatchJob& summary, double now_unix) const;

 private:
  std::vector<std::string> job_types_;
  std::optional<std::regex> name_regex_;
  std::optional<double> max_age_seconds_;
};

// The shard that owns a job: FNV-1a (64-bit) of the job id's bytes, modulo the shard count. Stable across
// processes, platforms and versions, so N replicas split the jobs with no overlap and no gap.
uint64_t JobIdHash(std::string_view job_id);
bool InShard(std::string_view job_id, int shard, int total_shards);

// Waiting, Running and Stopping jobs change by themselves; the others only when someone acts on them.
bool IsActiveStatus(const std::string& status);

// True when a listed summary differs from what the last detail fetch saw (status or its timestamp), so the
// details may have changed too.
bool SummaryChanged(const BatchJob& listed, const BatchJob& fetched);

using PageReader = std::function<FetchResult(long offset, long limit)>;

// Reads ListBatchJob page by page until offset >= job_count, advancing by what each page really holds (a server
// may return fewer items than asked). The result's list holds every item; on failure, the failing page's result.
FetchResult ListAllJobs(const PageReader& read_page, long page_size, long max_pages = 10000);

}  // namespace ief
