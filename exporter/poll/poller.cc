#include "poll/poller.h"

#include <algorithm>
#include <set>

#include "util/log.h"
#include "util/memory.h"
#include "util/text.h"

namespace ief {

struct Poller::ProjectRecord {
  std::shared_ptr<const ProjectContext> context;
  ProjectSnapshot state;
  bool discovery_enabled = false;
  std::optional<DiscoveryFilter> filter;
  Duration discovery_interval{};
  SteadyTime next_list_at{};
  std::optional<int64_t> job_count;  // from the latest list walk
  bool listed_this_round = false;
  std::string last_list_failure;     // for logging a failing list once
  std::string last_walk_problem;     // for logging a list walk's problem once (the polling thread's alone)
  std::set<std::string> logged_invalid_ids;
};

struct Poller::JobRecord {
  size_t project_index = 0;
  std::string job_id;
  JobSource source = JobSource::kConfig;
  bool in_flight = false;
  std::optional<BatchJob> listed;       // the latest list summary, while a list covers the job
  bool listed_this_round = false;
  bool found_in_first_listing = false;  // its first details are background work (the start-up fill)
  int fetches_for_listing = 0;          // successful detail fetches since `listed` last changed
  std::optional<SteadyTime> details_at;   // when details last arrived
  std::optional<SteadyTime> answered_at;  // when the API last answered about it (a 404 included)
  bool render_stale = false;            // carried over a reload that changed how jobs are rendered
  std::optional<SeenStatus> seen;       // the latest status seen: transitions are counted from it
  bool count_first_tasks = false;       // its first details' finished tasks finished while the exporter watched
  bool expired = false;                 // finished longer ago than finished_job_retention: no series
  std::string last_failure;             // message of the latest failure; empty after a success
  int consecutive_failures = 0;
  int rounds_to_skip = 0;               // back-off of a job that keeps failing
  std::shared_ptr<const JobSnapshot> published;
};

namespace {

// Invalid ids are logged once each, up to this many per project.
constexpr size_t kMaxLoggedInvalidIds = 100;

// How long a dropped discovered job's last status is remembered, and for how many jobs at most.
constexpr Duration kRememberDroppedFor = std::chrono::minutes(10);
constexpr size_t kMaxRememberedDropped = 10000;

// `later - earlier` of two API timestamps, in doubles: int64 values from the network could overflow a subtraction.
double SecondsBetween(int64_t earlier, int64_t later) {
  return static_cast<double>(later) - static_cast<double>(earlier);
}

class IefFetcher : public JobFetcher {
 public:
  IefFetcher(TransportPool::Lease transport, IefClientOptions options, ApiObserver* observer)
      : transport_(std::move(transport)), client_(*transport_, observer, std::move(options)) {}
  Fetched<BatchJob> Fetch(const ProjectContext& project, const std::string& job_id,
                          RequestPriority priority) override {
    return client_.ShowBatchJob(project, job_id, priority);
  }
  Fetched<BatchJobList> ListPage(const ProjectContext& project, long offset, long limit) override {
    return client_.ListBatchJobPage(project, offset, limit);
  }

 private:
  TransportPool::Lease transport_;
  IefClient client_;
};

std::string_view RequestIdForLog(const FetchError& error) {
  return error.request_id.empty() ? std::string_view("-") : std::string_view(error.request_id);
}

}  // namespace

JobFetcherFactory MakeIefFetcherFactory(TransportPool& transports, IefClientOptions client_options,
                                        ApiObserver* observer) {
  return [&transports, client_options, observer](const Cancellation* cancellation) {
    IefClientOptions options = client_options;
    options.cancellation = cancellation;
    return std::make_unique<IefFetcher>(transports.Borrow(), options, observer);
  };
}

Poller::Poller(PollerOptions options, std::vector<TrackedProject> projects, JobFetcherFactory fetchers,
               SnapshotStore& store, const Snapshot* previous)
    : options_(std::move(options)), fetcher_factory_(std::move(fetchers)), store_(store), clock_(*options_.clock) {
  std::sort(projects.begin(), projects.end(), [](const TrackedProject& a, const TrackedProject& b) {
    return a.context->project_id < b.context->project_id;
  });
  for (const TrackedProject& project : projects) {
    ProjectRecord record;
    record.context = project.context;
    record.state.project_id = project.context->project_id;
    record.discovery_enabled = project.discovery.enabled;
    record.state.discovery_filter = DescribeFilter(project.discovery);
    if (project.discovery.enabled) {
      record.filter.emplace(project.discovery);
      record.discovery_interval = project.discovery.interval.value_or(options_.poll_interval);
    }
    projects_.push_back(std::move(record));
    for (const std::string& job_id : project.job_ids) {
      if (InShard(job_id, options_.shard, options_.total_shards)) {
        AddRecord(projects_.size() - 1, job_id, JobSource::kConfig);
      }
    }
  }
  if (previous != nullptr) SeedFrom(*previous);
  std::lock_guard<std::mutex> lock(mutex_);
  PublishLocked();
}

Poller::~Poller() { Stop(); }

Poller::JobRecord& Poller::AddRecord(size_t project_index, const std::string& job_id, JobSource source) {
  const std::string& project_id = projects_[project_index].context->project_id;
  JobRecord& record = jobs_[{project_id, job_id}];
  record.project_index = project_index;
  record.job_id = job_id;
  record.source = source;
  auto initial = std::make_shared<JobSnapshot>();
  initial->project_id = project_id;
  initial->job_id = job_id;
  initial->source = source;
  record.published = std::move(initial);
  return record;
}

// Carries over what a previous poller knew: project states, configured jobs still listed, and discovered jobs of
// projects that still discover (the first listing then confirms or drops them). Carried details count as fresh,
// so a reload does not set off a wave of refreshes.
void Poller::SeedFrom(const Snapshot& previous) {
  for (ProjectRecord& project : projects_) {
    for (const ProjectSnapshot& old : previous.projects) {
      if (old.project_id != project.state.project_id) continue;
      const std::string filter = project.state.discovery_filter;
      project.state = old;
      // Jobs that match only under a new filter were there before: the first listing is a baseline again, so
      // they are background work and their finished tasks are not news.
      if (old.discovery_filter != filter) {
        project.state.listed = false;
        project.state.discovery_filter = filter;
      }
    }
  }
  const SteadyTime now = clock_.Steady();
  for (const auto& old : previous.expired_jobs) {
    if (jobs_.contains({old->project_id, old->job_id})) continue;  // configured now: it starts afresh, with series
    for (size_t i = 0; i < projects_.size(); ++i) {
      if (projects_[i].state.project_id != old->project_id || !projects_[i].discovery_enabled) continue;
      if (!InShard(old->job_id, options_.shard, options_.total_shards)) continue;
      JobRecord& record = AddRecord(i, old->job_id, JobSource::kDiscovery);
      record.published = old;
      record.expired = true;
      if (old->last_good) record.seen = SeenStatus::Of(*old->last_good);
    }
  }
  for (const auto& old : previous.jobs) {
    auto it = jobs_.find({old->project_id, old->job_id});
    JobRecord* record = it != jobs_.end() ? &it->second : nullptr;
    if (record == nullptr && old->source == JobSource::kDiscovery &&
        InShard(old->job_id, options_.shard, options_.total_shards)) {
      for (size_t i = 0; i < projects_.size(); ++i) {
        if (projects_[i].state.project_id == old->project_id && projects_[i].discovery_enabled) {
          record = &AddRecord(i, old->job_id, JobSource::kDiscovery);
        }
      }
    }
    if (record == nullptr) continue;
    auto carried = std::make_shared<JobSnapshot>(*old);
    carried->source = record->source;
    if (old->last_good) record->seen = SeenStatus::Of(*old->last_good);
    if (carried->has_details) {
      record->details_at = now;
      record->answered_at = now;
      record->render_stale = options_.rerender_carried_jobs;
    } else {
      record->found_in_first_listing = true;  // its first details were still to come: background work
      if (carried->last_good && options_.rerender_carried_jobs && options_.render_job) {
        carried->rendered = options_.render_job(*carried, *carried->last_good);
      }
    }
    record->published = std::move(carried);
  }
}

void Poller::StartWorkers() {
  if (!workers_.empty()) return;
  lister_ = fetcher_factory_(&cancellation_);
  int count = std::max(1, options_.max_concurrency);
  for (int i = 0; i < count; ++i) {
    workers_.emplace_back(&Poller::WorkerLoop, this, fetcher_factory_(&cancellation_));
  }
}

void Poller::Start() {
  StartWorkers();
  scheduler_ = std::thread(&Poller::SchedulerLoop, this);
}

void Poller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cancellation_.Cancel();  // aborts transfers and waits in flight
  work_available_.notify_all();
  work_done_.notify_all();
  stop_requested_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
  lister_.reset();
}

// ---- Lists ----

bool Poller::ListDueLocked(const ProjectRecord& project, SteadyTime now) const {
  if (project.discovery_enabled) {
    // Half a poll interval of slack: a listing due "at the next round" must not slip a whole round because the
    // round started a few microseconds early.
    return now + options_.poll_interval / 2 >= project.next_list_at;
  }
  // Configured jobs only: read the list when a walk costs fewer calls than polling the active jobs one by one
  // (never when every active job is read every round anyway).
  if (options_.active_refresh_interval == Duration(0)) return false;
  long polled = 0;
  for (auto it = jobs_.lower_bound({project.state.project_id, ""});
       it != jobs_.end() && it->first.first == project.state.project_id; ++it) {
    const JobSnapshot& shown = *it->second.published;
    if (shown.has_details && IsActiveStatus(shown.last_good->status)) ++polled;
  }
  return polled > ListWalkPages(project.job_count, options_.list_page_size);
}

void Poller::ListDueProjects() {
  std::vector<size_t> due;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const SteadyTime now = clock_.Steady();
    for (auto& [key, record] : jobs_) record.listed_this_round = false;
    for (size_t i = 0; i < projects_.size(); ++i) {
      ProjectRecord& project = projects_[i];  // the vector itself never changes after construction
      project.listed_this_round = false;
      if (!ListDueLocked(project, now)) continue;
      project.next_list_at = now + project.discovery_interval;
      due.push_back(i);
    }
  }
  for (size_t i : due) {
    const ProjectContext& context = *projects_[i].context;
    auto read_page = [&](long offset, long limit) { return lister_->ListPage(context, offset, limit); };
    ListWalk walk;
    ApplyListing(i, ListAllJobs(read_page, options_.list_page_size, &walk));
    ReportListWalk(context.project_id, walk, projects_[i].last_walk_problem, options_.observer);
  }
}

void Poller::ApplyListing(size_t project_index, const Fetched<BatchJobList>& listing) {
  std::lock_guard<std::mutex> lock(mutex_);
  ProjectRecord& project = projects_[project_index];
  const std::string& project_id = project.state.project_id;
  if (!listing.ok() && listing.error().kind == ErrorKind::kCancelled) return;
  project.state.has_answered = true;
  project.state.up = listing.ok() || listing.error().api_reachable();
  if (!listing.ok()) {
    const FetchError& error = listing.error();
    if (error.message != project.last_list_failure) {
      log::Warn("Job list failed; tracked jobs are kept", {{"project_id", project_id},
                                                           {"kind", ErrorKindName(error.kind)},
                                                           {"request_id", RequestIdForLog(error)},
                                                           {"err", error.message}});
    }
    project.last_list_failure = error.message;
    return;
  }
  project.last_list_failure.clear();
  ForgetDroppedLongAgo(clock_.Steady());
  project.job_count = listing->job_count;
  project.listed_this_round = true;
  const size_t tracked_before = jobs_.size();
  std::set<std::string> matched;
  for (const BatchJob& summary : listing->jobs) TrackListedJob(project_index, summary, matched);
  if (!project.state.listed && jobs_.size() > tracked_before) {
    log::Info("Discovered batch jobs", {{"project_id", project_id}, {"jobs", jobs_.size() - tracked_before}});
  }
  DropUnlisted(project_index, matched);
  project.state.listed = true;
  PublishLocked();  // new jobs show at once, with what the list says of them
}

void Poller::TrackListedJob(size_t project_index, const BatchJob& summary, std::set<std::string>& matched) {
  ProjectRecord& project = projects_[project_index];
  const std::string& project_id = project.state.project_id;
  if (!IsSafePathSegment(summary.job_id)) {  // anything that came from the network is hostile until checked
    if (options_.observer != nullptr) options_.observer->OnInvalidJobId(project_id);
    std::string shown_id = TruncateUtf8(summary.job_id, kMaxIdLength);  // what is kept and logged is bounded
    if (project.logged_invalid_ids.size() < kMaxLoggedInvalidIds &&
        project.logged_invalid_ids.insert(shown_id).second) {
      log::Warn("Listed batch job has an invalid id; skipped",
                {{"project_id", project_id}, {"job_id", QuoteForLog(shown_id)}});
    }
    return;
  }
  if (!InShard(summary.job_id, options_.shard, options_.total_shards)) return;
  auto it = jobs_.find({project_id, summary.job_id});
  const bool wanted = project.discovery_enabled && project.filter->Matches(summary, clock_.Wall());
  if (it == jobs_.end()) {
    if (!wanted) return;
    JobRecord& added = AddRecord(project_index, summary.job_id, JobSource::kDiscovery);
    added.found_in_first_listing = !project.state.listed;
    added.count_first_tasks = project.state.listed;  // a new job: all its tasks finished while we watched
    if (auto dropped = recently_dropped_.find({project_id, summary.job_id}); dropped != recently_dropped_.end()) {
      // Back after a short absence: no news, only what changed since it was last seen counts.
      added.seen = dropped->second.seen;
      added.count_first_tasks = false;
      recently_dropped_.erase(dropped);
    }
    if (project.state.listed) {
      log::Info("Discovered batch job", {{"project_id", project_id}, {"job_id", summary.job_id}});
    }
    it = jobs_.find({project_id, summary.job_id});
  } else if (!wanted && it->second.source == JobSource::kDiscovery) {
    return;  // no longer matches the filters (too old, say): DropUnlisted lets it go
  }
  JobRecord& record = it->second;
  matched.insert(summary.job_id);
  record.listed_this_round = true;
  if (!record.listed || SummaryDiffers(*record.listed, summary)) record.fetches_for_listing = 0;
  record.listed = summary;
  ObserveStatus(record, summary);
  SetExpired(record, record.source == JobSource::kDiscovery && FinishedLongAgo(summary));
  if (record.expired) {
    KeepListedSummary(record, summary);
  } else if (!record.published->has_details) {
    ShowListedValues(record, summary);
  }
}

// A discovered job whose series have outlived finished_job_retention: it stays known (a retry brings it back, and
// its history is counted right), but it has no series and costs no API call.
bool Poller::FinishedLongAgo(const BatchJob& summary) const {
  if (options_.finished_job_retention == Duration(0) || !IsFinishedStatus(summary.status)) return false;
  if (!summary.status_last_updated_at) return false;
  return FromApiSeconds(*summary.status_last_updated_at) <
         clock_.Wall() - options_.finished_job_retention;
}

void Poller::SetExpired(JobRecord& record, bool expired) {
  if (record.expired == expired) return;
  record.expired = expired;
  if (expired) queue_.Remove({projects_[record.project_index].state.project_id, record.job_id});
  if (!expired) record.found_in_first_listing = false;  // retried: its details are a new job's, not background
  log::Debug(expired ? "Batch job finished long ago: its series go" : "Batch job active again: its series return",
             {{"project_id", projects_[record.project_index].state.project_id}, {"job_id", record.job_id}});
}

// An expired job keeps its summary only (no text, no tally): what a reload needs to carry it over.
void Poller::KeepListedSummary(JobRecord& record, const BatchJob& summary) {
  const JobSnapshot& shown = *record.published;
  if (shown.last_good && !shown.rendered && !shown.tally && !SummaryDiffers(*shown.last_good, summary)) return;
  auto kept = std::make_shared<JobSnapshot>();
  kept->project_id = shown.project_id;
  kept->job_id = shown.job_id;
  kept->source = shown.source;
  kept->last_good = std::make_shared<const BatchJob>(summary);
  record.published = std::move(kept);
}

// A job without details yet is shown with what the list says of it.
void Poller::ShowListedValues(JobRecord& record, const BatchJob& summary) {
  auto next = std::make_shared<JobSnapshot>(*record.published);
  next->last_fetch_ok = true;
  next->last_success = clock_.Wall();
  const bool changed = !next->last_good || SummaryDiffers(*next->last_good, summary) ||
                       next->last_good->job_name != summary.job_name;
  if (changed) {
    next->last_good = std::make_shared<const BatchJob>(summary);
    next->rendered = options_.render_job ? options_.render_job(*next, summary) : nullptr;
  }
  record.published = std::move(next);
}

// Discovered jobs that left the list (deleted) or no longer match stop being tracked; configured jobs the list
// no longer shows stay, polled one by one again.
void Poller::DropUnlisted(size_t project_index, const std::set<std::string>& matched) {
  const ProjectRecord& project = projects_[project_index];
  const std::string& project_id = project.state.project_id;
  for (auto it = jobs_.lower_bound({project_id, ""}); it != jobs_.end() && it->first.first == project_id;) {
    JobRecord& record = it->second;
    auto current = it++;
    if (matched.count(record.job_id) != 0) continue;
    if (record.source == JobSource::kConfig) {
      record.listed.reset();
    } else if (project.discovery_enabled && !record.in_flight) {
      log::Info("Batch job no longer listed; dropped", {{"project_id", project_id}, {"job_id", record.job_id}});
      DropDiscovered(current);
    }
  }
}

// ---- What to fetch ----

std::optional<FetchReason> Poller::RefreshIfDue(const JobRecord& record, std::string_view status,
                                                SteadyTime now) const {
  if (!IsActiveStatus(status)) return std::nullopt;
  if (options_.active_refresh_interval == Duration(0)) return FetchReason::kChanged;  // "every round", as asked
  if (!record.details_at || now - *record.details_at >= options_.active_refresh_interval) return FetchReason::kRefresh;
  return std::nullopt;
}

std::optional<FetchReason> Poller::NeedsFetch(JobRecord& record, SteadyTime now) const {
  if (record.in_flight || record.expired) return std::nullopt;  // never queue a job twice
  if (record.rounds_to_skip > 0) {            // backing off after repeated failures
    --record.rounds_to_skip;
    return std::nullopt;
  }
  const JobSnapshot& shown = *record.published;
  if (!shown.has_details) {
    if (record.source == JobSource::kConfig || !record.found_in_first_listing) return FetchReason::kNew;
    const bool active = !shown.last_good || IsActiveStatus(shown.last_good->status);
    if (!active) return FetchReason::kFillFinished;
    // active_refresh_interval 0s asks for every active job every round: its first read included.
    return options_.active_refresh_interval == Duration(0) ? FetchReason::kChanged : FetchReason::kFillActive;
  }
  if (record.render_stale) return FetchReason::kRefresh;
  const ProjectRecord& project = projects_[record.project_index];
  const bool covered_by_list = record.listed && (project.discovery_enabled || record.listed_this_round);
  if (covered_by_list) {
    if (record.listed_this_round && SummaryDiffers(*record.listed, *shown.last_good) &&
        record.fetches_for_listing < kMaxFetchesPerListing) {
      return FetchReason::kChanged;
    }
    return RefreshIfDue(record, record.listed->status, now);
  }
  if (record.source == JobSource::kDiscovery) return RefreshIfDue(record, shown.last_good->status, now);
  // A configured job no list covers: nothing but its details can tell whether it changed.
  if (IsActiveStatus(shown.last_good->status)) return FetchReason::kChanged;
  if (!record.answered_at || now - *record.answered_at >= options_.terminal_recheck_interval) {
    return FetchReason::kRefresh;
  }
  return std::nullopt;
}

// Whether this round's list says the job's details are current: it agrees with them (or they were read twice since
// the list last changed), and the latest fetch did not fail; a job backing off after failures stays failed.
bool Poller::ListConfirmsDetails(const JobRecord& record) const {
  const JobSnapshot& shown = *record.published;
  if (!record.listed_this_round || !record.listed || !shown.has_details || !shown.last_good) return false;
  if (record.in_flight || record.expired || !shown.last_fetch_ok) return false;
  return !SummaryDiffers(*record.listed, *shown.last_good) || record.fetches_for_listing >= kMaxFetchesPerListing;
}

void Poller::QueueDueJobs(SteadyTime now) {
  for (auto& [key, record] : jobs_) {
    std::optional<FetchReason> reason = NeedsFetch(record, now);
    if (reason) {
      // Refreshes go oldest first; the others in the order they were asked for.
      queue_.Push(key, *reason, *reason == FetchReason::kRefresh ? record.details_at.value_or(now) : now);
    } else if (ListConfirmsDetails(record)) {
      // The list confirms the details are current: that counts as a successful look at the job.
      auto confirmed = std::make_shared<JobSnapshot>(*record.published);
      confirmed->last_fetch_ok = true;
      confirmed->last_success = clock_.Wall();
      record.published = std::move(confirmed);
    }
  }
}

// ---- Rounds and workers ----

void Poller::RunRound() {
  StartWorkers();
  const SteadyTime started = clock_.Steady();
  ListDueProjects();
  std::unique_lock<std::mutex> lock(mutex_);
  QueueDueJobs(clock_.Steady());
  PublishLocked();
  work_available_.notify_all();
  work_done_.wait(lock, [&] { return stopping_ || (queue_.urgent() == 0 && urgent_in_flight_ == 0); });
  if (stopping_) return;
  last_round_seconds_ = Seconds(clock_.Steady() - started);
  has_completed_round_ = true;
  if (last_round_seconds_ > Seconds(options_.poll_interval)) ++rounds_overrun_;
  PublishLocked();
  first_round_done_ = true;
}

void Poller::WaitUntilIdle() {
  std::unique_lock<std::mutex> lock(mutex_);
  work_done_.wait(lock, [&] { return stopping_ || (queue_.empty() && in_flight_ == 0); });
}

void Poller::SchedulerLoop() {
  while (true) {
    const auto round_start = std::chrono::steady_clock::now();
    RunRound();
    ReleaseFreeMemory();  // what the round's answers and renderings used goes back to the system
    std::unique_lock<std::mutex> lock(mutex_);
    // An overrun round leaves the next start in the past: the next round then starts at once.
    if (stop_requested_.wait_until(lock, round_start + options_.poll_interval, [&] { return stopping_; })) return;
  }
}

// The next job to fetch: urgent work first; background work only when its endpoint has a background slot free
// (`retry_in` then says when one will be).
std::optional<std::pair<Poller::JobKey, FetchReason>> Poller::PickLocked(std::chrono::nanoseconds& retry_in) {
  std::vector<const EndpointRateLimiter*> refused;
  return queue_.Pop([&](const JobKey& key, FetchReason reason) {
    if (IsUrgent(reason)) return true;
    const auto& limiter = projects_[jobs_.at(key).project_index].context->rate_limiter;
    if (!limiter) return true;
    if (std::find(refused.begin(), refused.end(), limiter.get()) != refused.end()) return false;
    if (limiter->TryTakeBackgroundSlot()) return true;
    refused.push_back(limiter.get());
    retry_in = std::min(retry_in, std::max<std::chrono::nanoseconds>(limiter->BackgroundDelay(),
                                                                      std::chrono::milliseconds(1)));
    return false;
  });
}

void Poller::WorkerLoop(std::unique_ptr<JobFetcher> fetcher) {
  while (true) {
    std::pair<JobKey, FetchReason> picked;
    std::shared_ptr<const ProjectContext> project;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      while (true) {
        if (stopping_) return;
        auto retry_in = std::chrono::nanoseconds::max();
        if (auto next = PickLocked(retry_in)) {
          picked = std::move(*next);
          break;
        }
        if (retry_in == std::chrono::nanoseconds::max()) {
          work_available_.wait(lock);
        } else {
          work_available_.wait_for(lock, retry_in);
        }
      }
      JobRecord& record = jobs_.at(picked.first);
      record.in_flight = true;
      ++in_flight_;
      if (IsUrgent(picked.second)) ++urgent_in_flight_;
      project = projects_[record.project_index].context;
    }
    const JobKey& key = picked.first;
    Fetched<BatchJob> result = fetcher->Fetch(*project, key.second, PriorityOf(picked.second));
    // Digest the answer outside the lock (scrapes and other workers go on): its text and its tasks' tally.
    Digest digest;
    if (result.ok()) {
      digest.tally = std::make_shared<const TaskTally>(TallyTasks(*result));
      if (options_.render_job) {
        JobSnapshot identity;
        identity.project_id = key.first;
        identity.job_id = key.second;
        digest.rendered = options_.render_job(identity, *result);
      }
    }
    ApplyResult(key, picked.second, result, std::move(digest));
  }
}

void Poller::ApplyResult(const JobKey& key, FetchReason reason, const Fetched<BatchJob>& result, Digest digest) {
  std::lock_guard<std::mutex> lock(mutex_);
  --in_flight_;
  if (IsUrgent(reason)) --urgent_in_flight_;
  work_done_.notify_all();
  auto it = jobs_.find(key);
  if (it == jobs_.end()) return;
  JobRecord& record = it->second;
  record.in_flight = false;
  if (!result.ok() && result.error().kind == ErrorKind::kCancelled) return;  // stopping: nothing was learnt
  ProjectRecord& project = projects_[record.project_index];
  project.state.has_answered = true;
  project.state.up = result.ok() || result.error().api_reachable();

  if (!result.ok() && result.error().kind == ErrorKind::kNotFound && record.source == JobSource::kDiscovery) {
    log::Info("Discovered batch job answers 404; dropped", {{"project_id", key.first}, {"job_id", key.second}});
    DropDiscovered(it);
    PublishLocked();
    return;
  }
  const SteadyTime now = clock_.Steady();
  auto next = std::make_shared<JobSnapshot>(*record.published);
  next->last_fetch_ok = result.ok();
  if (result.ok()) {
    ObserveStatus(record, *result);
    ObserveTasks(record, next->tally.get(), *digest.tally, result->job_type);
    // With the text rendered, the tasks are not needed any more: keep the summary only (memory).
    next->last_good = std::make_shared<const BatchJob>(digest.rendered ? SummaryOf(*result) : *result);
    next->rendered = std::move(digest.rendered);
    next->tally = std::move(digest.tally);
    next->has_details = true;
    next->last_success = clock_.Wall();
    record.details_at = now;
    record.render_stale = false;
    if (record.listed) ++record.fetches_for_listing;
  }
  if (result.ok() || result.error().api_reachable()) record.answered_at = now;
  record.published = std::move(next);
  RecordOutcome(record, result);
  PublishLocked();
}

// Failure back-off and logging: one warning when a job starts failing or fails differently, one info line when
// it recovers; repeats of the same failure go to debug, so a job that stays broken does not flood the log.
void Poller::RecordOutcome(JobRecord& record, const Fetched<BatchJob>& result) {
  const std::string previous_failure = record.last_failure;
  record.last_failure = result.ok() ? "" : result.error().message;
  record.consecutive_failures = result.ok() ? 0 : record.consecutive_failures + 1;
  // 0, 1, 3, 3... rounds skipped after the 1st, 2nd, 3rd... failure in a row.
  record.rounds_to_skip =
      std::min((1 << std::min(std::max(record.consecutive_failures - 1, 0), 4)) - 1, kMaxSkippedRounds);

  const std::string& project_id = projects_[record.project_index].state.project_id;
  if (result.ok()) {
    if (!previous_failure.empty()) {
      log::Info("Job fetch recovered", {{"project_id", project_id}, {"job_id", record.job_id}});
    }
    return;
  }
  const FetchError& error = result.error();
  const bool repeated = previous_failure == error.message;
  if (repeated && !log::Enabled(log::Level::kDebug)) return;
  log::Write(repeated ? log::Level::kDebug : log::Level::kWarn, "Job fetch failed",
             {{"project_id", project_id},
              {"job_id", record.job_id},
              {"kind", ErrorKindName(error.kind)},
              {"status", error.http_status},
              {"request_id", RequestIdForLog(error)},
              {"err", error.message}});
}

// ---- History: transitions as they are seen ----

void Poller::ObserveStatus(JobRecord& record, const BatchJob& job) {
  if (job.status.empty()) return;
  std::optional<SeenStatus> before = std::move(record.seen);
  record.seen = SeenStatus::Of(job);
  PollObserver* observer = options_.observer;
  if (observer == nullptr) return;
  if (before == record.seen) return;
  const JobLabels labels{projects_[record.project_index].state.project_id, job.job_type};
  const bool finished = IsFinishedStatus(job.status);
  if (!before) {
    observer->OnJobSeen(labels);
    // First sight: report only what happened since the exporter started.
    if (!job.status_last_updated_at ||
        FromApiSeconds(*job.status_last_updated_at) <= options_.history_since) {
      return;
    }
    if (finished) ReportFinished(labels, job);
    if (job.status == "Running") ReportStarted(labels, job);
    return;
  }
  const bool was_finished = IsFinishedStatus(before->status);
  if (was_finished && (IsActiveStatus(job.status) || finished)) {
    // Back to work; or finished again with a new time: retried and finished between two looks.
    observer->OnJobRetried(labels);
  }
  if (finished) ReportFinished(labels, job);
  if (before->status == "Waiting" && job.status == "Running") ReportStarted(labels, job);
}

void Poller::ReportFinished(const JobLabels& labels, const BatchJob& job) {
  std::optional<double> duration;
  if (job.created_at && job.status_last_updated_at) {
    duration = SecondsBetween(*job.created_at, *job.status_last_updated_at);
  }
  options_.observer->OnJobFinished(labels, job.status, duration);
}

void Poller::ReportStarted(const JobLabels& labels, const BatchJob& job) {
  if (!job.created_at || !job.status_last_updated_at) return;
  options_.observer->OnJobStarted(labels, SecondsBetween(*job.created_at, *job.status_last_updated_at));
}

// Tasks that reached a terminal status since the previous details (`before`). A job's first details are only a
// baseline, unless the job appeared while the exporter was watching.
void Poller::ObserveTasks(JobRecord& record, const TaskTally* before, const TaskTally& after,
                          const std::string& job_type) {
  PollObserver* observer = options_.observer;
  if (observer == nullptr || (before == nullptr && !record.count_first_tasks)) return;
  const JobLabels labels{projects_[record.project_index].state.project_id, job_type};
  for (const auto& [status_and_class, count] : after.by_status_and_class) {
    if (!IsFinishedStatus(status_and_class.first)) continue;
    int64_t earlier = 0;
    if (before != nullptr) {
      auto it = before->by_status_and_class.find(status_and_class);
      if (it != before->by_status_and_class.end()) earlier = it->second;
    }
    if (count > earlier) observer->OnTasksFinished(labels, status_and_class.first, status_and_class.second, count - earlier);
  }
  for (const std::string& target : after.failed_targets) {
    if (before == nullptr ||
        !std::binary_search(before->failed_targets.begin(), before->failed_targets.end(), target)) {
      observer->OnNodeTaskFailed(labels, target);
    }
  }
}

void Poller::DropDiscovered(std::map<JobKey, JobRecord>::iterator record) {
  const std::optional<SeenStatus>& seen = record->second.seen;
  if (seen && recently_dropped_.size() < kMaxRememberedDropped) {
    recently_dropped_[record->first] = Dropped{*seen, clock_.Steady()};
  }
  EraseRecord(record);
}

void Poller::ForgetDroppedLongAgo(SteadyTime now) {
  std::erase_if(recently_dropped_, [&](const auto& entry) { return now - entry.second.dropped_at >= kRememberDroppedFor; });
}

void Poller::EraseRecord(std::map<JobKey, JobRecord>::iterator record) {
  queue_.Remove(record->first);
  jobs_.erase(record);
  work_done_.notify_all();  // a round may have waited for it
}

void Poller::PublishLocked() {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->projects.reserve(projects_.size());
  for (const ProjectRecord& project : projects_) snapshot->projects.push_back(project.state);
  snapshot->jobs.reserve(jobs_.size());
  for (const auto& [key, record] : jobs_) {
    (record.expired ? snapshot->expired_jobs : snapshot->jobs).push_back(record.published);
  }
  snapshot->last_round_seconds = last_round_seconds_;
  snapshot->has_completed_round = has_completed_round_;
  snapshot->rounds_overrun = rounds_overrun_;
  store_.Publish(std::move(snapshot));
}

}  // namespace ief
