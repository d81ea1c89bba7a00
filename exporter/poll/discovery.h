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
#include "poll/poll_observer.h"
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
  const std::optional<Duration>& max_age() const { return max_age_; }

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

// The most pages one walk reads, and the most jobs it keeps (this many pages at the page size asked for). A real
// tenant needs far fewer: 500 pages of 100 are 50,000 jobs, five times the largest tenant the exporter is measured
// with (docs/performance.md). A walk that reaches the cap is cut, logged and counted.
inline constexpr long kMaxListPages = 500;

// How a list walk ended.
enum class ListWalkEnd {
  kComplete,    // the list ran out: an empty page, or job_count reached with a page that was not full
  kNothingNew,  // cut: a page held only jobs the walk had already seen (a server that ignores offset, or repeats)
  kPageCap,     // cut: kMaxListPages pages, or that many pages' worth of jobs
  kFailed,      // a page failed; the walk's error says why
  kHorizon,     // stopped as asked: the rest of the list is older than WalkBounds::stop_before_created
  kStepDone,    // stopped as asked: WalkBounds::max_pages read, the list goes on
};
// "complete", "nothing_new", "page_cap", "failed", "horizon", "step_done"
std::string_view ListWalkEndName(ListWalkEnd end);

// What a walk met besides its jobs, for the caller to log and count.
struct ListWalk {
  ListWalkEnd end = ListWalkEnd::kComplete;
  long pages = 0;
  int64_t jobs = 0;             // distinct jobs seen
  bool count_missing = false;   // job_count absent, 0 or negative: paged until a page brought nothing
  bool count_exceeded = false;  // pages past job_count still brought new jobs: the count was short
  int64_t conflicting_copies = 0;  // copies of a job that disagreed with an earlier one (the newer view was kept)
  long next_offset = 0;            // where a walk that stopped early (kHorizon, kStepDone) would go on
  bool out_of_order = false;       // a page was not sorted newest first, as asked: the horizon was not trusted
};

// Where a walk starts and when it may stop before the list runs out.
struct WalkBounds {
  long start_offset = 0;
  long max_pages = kMaxListPages;  // below kMaxListPages: one step of a longer walk (ends kStepDone)
  // A head walk: the list is sorted by created_at, newest first, so once a page reaches jobs created before this
  // the rest of the list is older still (ends kHorizon). Not trusted once a page comes out of order.
  std::optional<int64_t> stop_before_created;
  // ... and only once it has shown a job at least this new (the newest the walk before showed). A list served in
  // another order can look sorted on one page (a page of jobs created in the same second); reading on until the
  // newest known job shows lets the order check see the rest. A deleted newest job costs one walk of the whole list.
  std::optional<int64_t> newest_known;
};

// Reads ListBatchJob page by page, advancing by what each page really holds (a server may return fewer items than
// asked), and never believes job_count alone:
// - while offset < job_count, it reads on; past it, it reads on while full pages come back (a count smaller than
//   the list must not cut it short); without a usable count, it reads until a page brings nothing;
// - a page that brings no job the walk has not seen ends it (an offset ignored, a page repeated), so a lying count
//   cannot make it loop, and the pages and jobs it keeps are bounded by kMaxListPages.
// The result holds each distinct job's summary (SummaryOf) once, in its newest view (IsNewerView: a job shown twice,
// because the list shifted while it was read or the server is confused, is one job); its job_count is the
// stated one when the walk confirmed it, else the number of jobs seen. On failure, the failing page's error.
// `walk`, when given, says how it ended.
Fetched<BatchJobList> ListAllJobs(const PageReader& read_page, long page_size, ListWalk* walk = nullptr,
                                  long max_pages = kMaxListPages);
// The same within `bounds`: from an offset, for a number of pages, or down to a creation time.
Fetched<BatchJobList> WalkList(const PageReader& read_page, long page_size, const WalkBounds& bounds,
                               ListWalk* walk = nullptr);

// What a walk met that an operator should know, as a log message (the same for every walk with that problem; the
// numbers go in fields); empty for a complete walk with a sound count, and for a failed one (its error says it).
std::string DescribeListWalkProblem(const ListWalk& walk);

// Logs a walk's problem at warn when it differs from the previous walk's (`last_logged`, kept by the caller for
// each project), repeats at debug, and its end at info; counts a cut walk through `observer` (OnListWalkCut), and
// copies of a job that disagreed (OnDuplicateListing).
void ReportListWalk(const std::string& project_id, const ListWalk& walk, std::string& last_logged,
                    PollObserver* observer);

// How many pages a walk of `job_count` jobs takes (1 when the count is not known yet).
long ListWalkPages(std::optional<int64_t> job_count, long page_size);

}  // namespace ief
