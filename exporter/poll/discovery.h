// Pieces of job discovery that need no threads: which listed jobs to track, which shard owns a job, and reading
// every page of ListBatchJob.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/job.h"
#include "upstream/ief_client.h"

namespace ief {

// Job names longer than this never match a name_regex: std::regex matches by recursion, a frame or more per
// character, and a hostile list could otherwise hand it a name that overflows the stack. Real names are short.
inline constexpr size_t kMaxMatchedNameLength = 1024;

// A project's discovery.* settings, with the regex compiled once.
class DiscoveryFilter {
 public:
  explicit DiscoveryFilter(const DiscoveryConfig& config);
  // Whether a listed job should be tracked: its type is wanted, its whole name matches, it is young enough.
  bool Matches(const BatchJob& summary, WallTime now) const;

 private:
  std::vector<std::string> job_types_;
  std::optional<std::regex> name_regex_;
  std::optional<Duration> max_age_;
};

// What decides which listed jobs are tracked (enabled, job types, name regex, max age), as a string that is equal
// for two configs exactly when they track the same jobs. Not the interval: it changes when, not what.
std::string DescribeFilter(const DiscoveryConfig& config);

// The shard that owns a job: FNV-1a (64-bit) of the job id's bytes, modulo the shard count. Stable across
// processes, platforms and versions, so N replicas split the jobs with no overlap and no gap.
uint64_t JobIdHash(std::string_view job_id);
bool InShard(std::string_view job_id, int shard, int total_shards);

using PageReader = std::function<Fetched<BatchJobList>(long offset, long limit)>;

// Reads ListBatchJob page by page until offset >= job_count, advancing by what each page really holds (a server
// may return fewer items than asked). The result holds every item's summary (SummaryOf); on failure, the failing
// page's error.
Fetched<BatchJobList> ListAllJobs(const PageReader& read_page, long page_size, long max_pages = 10000);

// How many pages a walk of `job_count` jobs takes (1 when the count is not known yet).
long ListWalkPages(std::optional<int64_t> job_count, long page_size);

}  // namespace ief
