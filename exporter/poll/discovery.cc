#include "poll/discovery.h"

#include "poll/history.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "util/log.h"

namespace ief {

DiscoveryFilter::DiscoveryFilter(const DiscoveryConfig& config)
    : job_types_(config.job_types), max_age_(config.max_age) {
  // The config loader already compiled the regex once to validate it.
  if (!config.name_regex.empty()) name_regex_.emplace(config.name_regex, std::regex::ECMAScript);
}

bool DiscoveryFilter::Matches(const BatchJob& summary, WallTime now) const {
  if (!job_types_.empty() &&
      std::find(job_types_.begin(), job_types_.end(), summary.job_type) == job_types_.end()) {
    return false;
  }
  if (name_regex_ && (summary.job_name.size() > kMaxMatchedNameLength ||
                      !std::regex_match(summary.job_name, *name_regex_))) {
    return false;
  }
  if (max_age_ && summary.created_at &&
      FromApiSeconds(*summary.created_at) < now - *max_age_) {
    return false;
  }
  return true;
}

std::string DescribeFilter(const DiscoveryConfig& config) {
  if (!config.enabled) return "off";
  // Each part with its length in front, so that no two different configs read the same.
  std::string description = "types:" + std::to_string(config.job_types.size());
  for (const std::string& type : config.job_types) description += ";" + std::to_string(type.size()) + ":" + type;
  description += ";regex:" + std::to_string(config.name_regex.size()) + ":" + config.name_regex;
  if (config.max_age) description += ";max_age:" + std::to_string(config.max_age->count());
  return description;
}

uint64_t JobIdHash(std::string_view job_id) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64-bit offset basis
  for (unsigned char c : job_id) {
    hash ^= c;
    hash *= 1099511628211ULL;  // FNV-1a 64-bit prime
  }
  return hash;
}

bool InShard(std::string_view job_id, int shard, int total_shards) {
  if (total_shards <= 1) return true;
  return JobIdHash(job_id) % static_cast<uint64_t>(total_shards) == static_cast<uint64_t>(shard);
}

std::string_view ListWalkEndName(ListWalkEnd end) {
  switch (end) {
    case ListWalkEnd::kComplete:
      return "complete";
    case ListWalkEnd::kNothingNew:
      return "nothing_new";
    case ListWalkEnd::kPageCap:
      return "page_cap";
    case ListWalkEnd::kFailed:
      return "failed";
    case ListWalkEnd::kHorizon:
      return "horizon";
    case ListWalkEnd::kStepDone:
      return "step_done";
  }
  return "complete";
}

namespace {

// The jobs of one walk, each kept once: a job a later page shows again (the list shifted while it was read)
// replaces its earlier copy, so memory follows the distinct jobs seen, not the pages read.
class WalkJobs {
 public:
  explicit WalkJobs(size_t max_jobs) : max_jobs_(max_jobs) {}
  // Adds a page's items; returns how many were new. Stops taking new jobs at the cap.
  long AddPage(const std::vector<BatchJob>& items) {
    long added = 0;
    for (const BatchJob& job : items) {
      auto [it, inserted] = index_.try_emplace(job.job_id, jobs_.size());
      if (!inserted) {
        BatchJob& kept = jobs_[it->second];
        if (SummaryDiffers(kept, job) || kept.created_at != job.created_at) ++conflicting_copies_;
        if (IsNewerView(kept, job)) kept = Summary(job);
        continue;
      }
      if (jobs_.size() >= max_jobs_) {
        index_.erase(it);
        full_ = true;
        break;
      }
      jobs_.push_back(Summary(job));
      ++added;
    }
    return added;
  }
  bool full() const { return full_ || jobs_.size() >= max_jobs_; }
  std::vector<BatchJob> Take() { return std::move(jobs_); }
  size_t size() const { return jobs_.size(); }
  int64_t conflicting_copies() const { return conflicting_copies_; }

 private:
  // Only the summary is kept: a description or a task_data document is never used, and the whole list is in
  // memory until it is applied. Tasks a list item might carry are not kept either: it is no job's details.
  static BatchJob Summary(const BatchJob& job) {
    BatchJob summary = SummaryOf(job);
    summary.has_tasks = false;
    return summary;
  }

  const size_t max_jobs_;
  std::vector<BatchJob> jobs_;
  std::unordered_map<std::string, size_t> index_;  // job id -> position in jobs_
  bool full_ = false;
  int64_t conflicting_copies_ = 0;
};

}  // namespace

namespace {

// Follows the order of created_at across a walk's pages: newest first, as the walk asks (sort=created_at:desc).
class OrderCheck {
 public:
  // Whether every item of `page` is no newer than the one before it (items without created_at are left out).
  bool Sorted(const std::vector<BatchJob>& page) {
    bool sorted = true;
    for (const BatchJob& job : page) {
      if (!job.created_at) continue;
      if (previous_ && *job.created_at > *previous_) sorted = false;
      previous_ = job.created_at;
      newest_ = std::max(newest_.value_or(*job.created_at), *job.created_at);
    }
    return sorted;
  }
  std::optional<int64_t> oldest() const { return previous_; }
  std::optional<int64_t> newest() const { return newest_; }

 private:
  std::optional<int64_t> previous_;
  std::optional<int64_t> newest_;
};

}  // namespace

Fetched<BatchJobList> ListAllJobs(const PageReader& read_page, long page_size, ListWalk* walk, long max_pages) {
  return WalkList(read_page, page_size, WalkBounds{.max_pages = max_pages}, walk);
}

Fetched<BatchJobList> WalkList(const PageReader& read_page, long page_size, const WalkBounds& bounds, ListWalk* walk) {
  ListWalk ignored;
  ListWalk& outcome = walk != nullptr ? *walk : ignored;
  outcome = ListWalk{};
  const long max_pages = std::min(bounds.max_pages, kMaxListPages);
  WalkJobs jobs(static_cast<size_t>(std::max(1L, max_pages)) * static_cast<size_t>(std::max(1L, page_size)));
  OrderCheck order;
  std::optional<int64_t> stated_count;
  long offset = std::max(0L, bounds.start_offset);
  while (true) {
    if (outcome.pages >= max_pages || jobs.full()) {
      outcome.end = bounds.max_pages < kMaxListPages && !jobs.full() ? ListWalkEnd::kStepDone : ListWalkEnd::kPageCap;
      break;
    }
    Fetched<BatchJobList> page = read_page(offset, page_size);
    ++outcome.pages;
    if (!page.ok()) {
      outcome.end = ListWalkEnd::kFailed;
      outcome.jobs = static_cast<int64_t>(jobs.size());
      outcome.conflicting_copies = jobs.conflicting_copies();
      return page.error();
    }
    const long page_offset = offset;
    const long received = static_cast<long>(page->jobs.size());
    const long added = jobs.AddPage(page->jobs);
    offset += received;
    stated_count = page->job_count;
    const bool count_usable = stated_count && *stated_count > 0;
    if (!count_usable && received > 0) outcome.count_missing = true;
    if (count_usable && page_offset >= *stated_count && added > 0) outcome.count_exceeded = true;
    if (!order.Sorted(page->jobs)) outcome.out_of_order = true;

    if (received == 0) break;  // the list ran out
    if (added == 0 && !jobs.full()) {
      outcome.end = ListWalkEnd::kNothingNew;
      break;
    }
    // Short of the count: read on. Past it: only while pages come back full. Without a count: until nothing comes.
    if (count_usable && offset >= *stated_count && received < page_size) break;
    // A head walk is done once it reached what is older than it needs, unless the server ignores the order asked.
    if (bounds.stop_before_created && !outcome.out_of_order && order.oldest() &&
        *order.oldest() < *bounds.stop_before_created &&
        (!bounds.newest_known || order.newest().value_or(std::numeric_limits<int64_t>::min()) >= *bounds.newest_known)) {
      outcome.end = ListWalkEnd::kHorizon;
      break;
    }
  }
  outcome.next_offset = offset;
  outcome.jobs = static_cast<int64_t>(jobs.size());
  outcome.conflicting_copies = jobs.conflicting_copies();
  BatchJobList all;
  const bool count_confirmed = outcome.end == ListWalkEnd::kComplete && bounds.start_offset == 0 &&
                               !outcome.count_missing && !outcome.count_exceeded && stated_count &&
                               *stated_count >= outcome.jobs;
  all.job_count = count_confirmed || outcome.end == ListWalkEnd::kHorizon || outcome.end == ListWalkEnd::kStepDone
                      ? stated_count
                      : std::optional<int64_t>(outcome.jobs);
  all.jobs = jobs.Take();
  return all;
}

std::string DescribeListWalkProblem(const ListWalk& walk) {
  switch (walk.end) {
    case ListWalkEnd::kNothingNew:
      return "Job list walk cut: a page brought no job not seen before (offset ignored or pages repeated)";
    case ListWalkEnd::kPageCap:
      return "Job list walk cut at its cap of " + std::to_string(kMaxListPages) + " pages";
    case ListWalkEnd::kFailed:
      return "";
    case ListWalkEnd::kComplete:
    case ListWalkEnd::kHorizon:
    case ListWalkEnd::kStepDone:
      break;
  }
  if (walk.out_of_order) {
    return "Job list not sorted newest first as asked (sort=created_at:desc): every walk reads the whole list";
  }
  if (walk.count_missing) {
    return "Job list without a usable job_count (missing, 0 or negative): read until a page was empty";
  }
  if (walk.count_exceeded) return "Job list holds more jobs than its job_count: read on while pages came back full";
  return "";
}

void ReportListWalk(const std::string& project_id, const ListWalk& walk, std::string& last_logged,
                    PollObserver* observer) {
  if (observer != nullptr && walk.conflicting_copies > 0) observer->OnDuplicateListing(project_id, walk.conflicting_copies);
  if (walk.end == ListWalkEnd::kFailed) return;  // the failure is reported with its error
  if (observer != nullptr && (walk.end == ListWalkEnd::kNothingNew || walk.end == ListWalkEnd::kPageCap)) {
    observer->OnListWalkCut(project_id, ListWalkEndName(walk.end));
  }
  std::string problem = DescribeListWalkProblem(walk);
  if (problem.empty()) {
    if (!last_logged.empty()) log::Info("Job list walks are complete again", {{"project_id", project_id}});
    last_logged.clear();
    return;
  }
  const log::Level level = problem == last_logged ? log::Level::kDebug : log::Level::kWarn;
  log::Write(level, problem, {{"project_id", project_id}, {"pages", walk.pages}, {"jobs", static_cast<long>(walk.jobs)},
                              {"end", ListWalkEndName(walk.end)}});
  last_logged = std::move(problem);
}

long ListWalkPages(std::optional<int64_t> job_count, long page_size) {
  if (!job_count || *job_count <= 0) return 1;
  // The count comes from the network: divide first, so a huge one cannot overflow.
  const int64_t pages = *job_count / page_size + (*job_count % page_size != 0 ? 1 : 0);
  return static_cast<long>(std::min<int64_t>(pages, std::numeric_limits<long>::max()));
}

}  // namespace ief
