#include "poll/poller.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "util/log.h"

namespace ief {

struct Poller::ProjectRecord {
  std::shared_ptr<const ProjectContext> context;
  ProjectSnapshot state;
  bool discovery_enabled = false;
  std::optional<DiscoveryFilter> filter;
  double discovery_interval = 0;      // seconds
  double next_discovery_at = 0;       // steady seconds
  std::string last_list_failure;      // for logging a failing list once
};

struct Poller::JobRecord {
  size_t project_index = 0;
  std::string job_id;
  bool explicit_job = false;           // listed in the config: kept even when it answers 404
  bool in_flight = false;
  std::string last_failure;            // message of the latest failure; empty after a success
  int consecutive_failures = 0;
  int rounds_to_skip = 0;              // back-off of a job that keeps failing
  std::optional<BatchJob> listed;      // summary from this round's ListBatchJob, when there was one
  double last_fetch_unix = 0;          // when ShowBatchJob last answered (for terminal re-checks)
  BodyFingerprint parsed_fingerprint = 0;  // of the answer behind published->last_good; 0 until one was parsed
  std::shared_ptr<const JobSnapshot> published;
};

namespace {

class IefFetcher : public JobFetcher {
 public:
  IefFetcher(HttpTransportOptions transport_options, IefClientOptions client_options, ApiObserver* observer)
      : transport_(MakeHttpTransport(transport_options)), client_(*transport_, observer, client_options) {}
  FetchResult Fetch(const ProjectContext& project, const std::string& job_id, BodyFingerprint known) override {
    return client_.ShowBatchJob(project, job_id, known);
  }
  FetchResult ListPage(const ProjectContext& project, long offset, long limit) override {
    return client_.ListBatchJobPage(project, offset, limit);
  }

 private:
  std::unique_ptr<HttpTransport> transport_;
  IefClient client_;
};

std::string_view KindName(FetchResult::Kind kind) {
  switch (kind) {
    case FetchResult::Kind::kOk: return "ok";
    case FetchResult::Kind::kNotFound: return "not_found";
    case FetchResult::Kind::kHttpError: return "http_error";
    case FetchResult::Kind::kTransportError: return "transport_error";
    case FetchResult::Kind::kParseError: return "parse_error";
    case FetchResult::Kind::kAuthError: return "auth_error";
  }
  return "unknown";
}

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

JobFetcherFactory MakeIefFetcherFactory(HttpTransportOptions transport_options, IefClientOptions client_options,
                                        ApiObserver* observer) {
  return [=](Cancellation* cancellation) mutable {
    transport_options.cancellation = cancellation;
    client_options.cancellation = cancellation;
    return std::make_unique<IefFetcher>(transport_options, client_options, observer);
  };
}

double SystemWallClock() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Poller::Poller(PollerOptions options, std::vector<TrackedProject> projects, JobFetcherFactory fetchers,
               SnapshotStore& store, WallClock clock, const Snapshot* previous)
    : options_(options), fetcher_factory_(std::move(fetchers)), store_(store), clock_(std::move(clock)) {
  std::sort(projects.begin(), projects.end(), [](const TrackedProject& a, const TrackedProject& b) {
    return a.context->project_id < b.context->project_id;
  });
  for (const TrackedProject& project : projects) {
    ProjectRecord record;
    record.context = project.context;
    record.state.project_id = project.context->project_id;
    record.discovery_enabled = project.discovery.enabled;
    if (project.discovery.enabled) {
      record.filter.emplace(project.discovery);
      record.discovery_interval =
          std::chrono::duration<double>(project.discovery.interval.value_or(options_.poll_interval)).count();
    }
    projects_.push_back(std::move(record));
    for (const std::string& job_id : project.job_ids) {
      if (InShard(job_id, options_.shard, options_.total_shards)) AddRecord(projects_.size() - 1, job_id, true);
    }
  }
  if (previous != nullptr) SeedFrom(*previous);
  std::lock_guard<std::mutex> lock(mutex_);
  PublishLocked();
}

Poller::~Poller() { Stop(); }

Poller::JobRecord& Poller::AddRecord(size_t project_index, const std::string& job_id, bool explicit_job) {
  const std::string& project_id = projects_[project_index].context->project_id;
  JobRecord& record = jobs_[{project_id, job_id}];
  record.project_index = project_index;
  record.job_id = job_id;
  record.explicit_job = explicit_job;
  auto initial = std::make_shared<JobSnapshot>();
  initial->project_id = project_id;
  initial->job_id = job_id;
  initial->source = explicit_job ? "config" : "discovery";
  record.published = std::move(initial);
  return record;
}

// Carries over what a previous poller knew: project states, explicit jobs still listed, and discovered jobs of
// projects that still discover (the first listing then confirms or drops them).
void Poller::SeedFrom(const Snapshot& previous) {
  for (ProjectRecord& project : projects_) {
    for (const ProjectSnapshot& old : previous.projects) {
      if (old.project_id == project.state.project_id) project.state = old;
    }
  }
  for (const auto& old : previous.jobs) {
    auto it = jobs_.find({old->project_id, old->job_id});
    if (it != jobs_.end()) {
      auto carried = std::make_shared<JobSnapshot>(*old);
      carried->source = it->second.published->source;
      it->second.published = std::move(carried);
      continue;
    }
    if (old->source != "discovery" || !InShard(old->job_id, options_.shard, options_.total_shards)) continue;
    for (size_t i = 0; i < projects_.size(); ++i) {
      if (projects_[i].state.project_id == old->project_id && projects_[i].discovery_enabled) {
        AddRecord(i, old->job_id, false).published = old;
      }
    }
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
  round_finished_.notify_all();
  stop_requested_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

void Poller::DiscoverDueProjects(double now_unix) {
  for (size_t i = 0; i < projects_.size(); ++i) {
    ProjectRecord& project = projects_[i];  // the vector itself never changes after construction
    // Half a poll interval of slack: a listing due "at the next round" must not slip a whole round because the
    // round started a few microseconds early.
    double slack = 0.5 * std::chrono::duration<double>(options_.poll_interval).count();
    if (!project.discovery_enabled || SteadySeconds() + slack < project.next_discovery_at) continue;
    project.next_discovery_at = SteadySeconds() + project.discovery_interval;
    const ProjectContext& context = *project.context;
    FetchResult listing = ListAllJobs(
        [&](long offset, long limit) { return lister_->ListPage(context, offset, limit); }, options_.list_page_size);
    ApplyListing(i, listing, now_unix);
  }
}

void Poller::ApplyListing(size_t project_index, const FetchResult& listing, double now_unix) {
  std::lock_guard<std::mutex> lock(mutex_);
  ProjectRecord& project = projects_[project_index];
  project.state.has_answered = true;
  project.state.up = listing.api_reachable();
  const std::string& project_id = project.state.project_id;
  if (!listing.ok()) {
    if (listing.message != project.last_list_failure) {
      log::Warn("Job discovery failed; tracked jobs are kept",
                {{"project_id", project_id},
                 {"kind", KindName(listing.kind)},
                 {"request_id", listing.request_id.empty() ? "-" : listing.request_id},
                 {"err", listing.message}});
    }
    project.last_list_failure = listing.message;
    return;
  }
  project.last_list_failure.clear();
  std::set<std::string> matched;
  for (const BatchJob& summary : listing.list.jobs) {
    if (!InShard(summary.job_id, options_.shard, options_.total_shards)) continue;
    auto it = jobs_.find({project_id, summary.job_id});
    bool wanted = project.filter->Matches(summary, now_unix);
    if (it == jobs_.end() && wanted) {
      AddRecord(project_index, summary.job_id, false);
      it = jobs_.find({project_id, summary.job_id});
      log::Info("Discovered batch job", {{"project_id", project_id}, {"job_id", summary.job_id}});
    }
    if (it == jobs_.end()) continue;
    if (wanted || it->second.explicit_job) {
      matched.insert(summary.job_id);
      it->second.listed = summary;
    }
  }
  // Discovered jobs that left the list (deleted) or no longer match (too old, say) stop being tracked.
  for (auto it = jobs_.lower_bound({project_id, ""}); it != jobs_.end() && it->first.first == project_id;) {
    if (!it->second.explicit_job && matched.count(it->first.second) == 0 && !it->second.in_flight) {
      log::Info("Batch job no longer listed; dropped", {{"project_id", project_id}, {"job_id", it->first.second}});
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

bool Poller::NeedsFetch(JobRecord& record, double now_unix) {
  if (record.in_flight) return false;  // still running from an earlier round: never queue a job twice
  if (record.rounds_to_skip > 0) {     // backing off after repeated failures
    --record.rounds_to_skip;
    return false;
  }
  const auto& known = record.published->last_good;
  if (!known) return true;
  if (record.listed) {
    // The list is fresh: fetch only what can have changed.
    return IsActiveStatus(record.listed->status) || SummaryChanged(*record.listed, *known);
  }
  if (!IsFinishedStatus(known->status)) return true;
  double recheck = std::chrono::duration<double>(options_.terminal_recheck_interval).count();
  return now_unix - record.last_fetch_unix >= recheck;
}

void Poller::RunRound() {
  StartWorkers();
  auto started = std::chrono::steady_clock::now();
  double now_unix = clock_();
  DiscoverDueProjects(now_unix);
  std::unique_lock<std::mutex> lock(mutex_);
  for (auto& [key, record] : jobs_) {
    bool fetch = NeedsFetch(record, now_unix);
    record.listed.reset();  // a summary is only trusted in the round that read it
    if (!fetch) continue;
    record.in_flight = true;
    queue_.push_back(key);
    ++outstanding_;
  }
  PublishLocked();  // discovered and dropped jobs show at once
  work_available_.notify_all();
  // Wait for the round, publishing batched answers meanwhile (a slow job must not hold back the others).
  while (!round_finished_.wait_for(lock, kPublishEvery, [&] { return outstanding_ == 0 || stopping_; })) {
    if (unpublished_changes_) PublishLocked();
  }
  if (stopping_) return;
  last_round_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  has_completed_round_ = true;
  if (last_round_seconds_ > std::chrono::duration<double>(options_.poll_interval).count()) ++rounds_overrun_;
  PublishLocked();
  first_round_done_ = true;
}

void Poller::SchedulerLoop() {
  while (true) {
    auto round_start = std::chrono::steady_clock::now();
    RunRound();
    std::unique_lock<std::mutex> lock(mutex_);
    // An overrun round leaves next_start in the past: the next round then starts at once. The floor keeps a
    // zero interval with nothing to fetch from spinning.
    auto next_start = round_start + std::max<Duration>(options_.poll_interval, kMinRoundSpacing);
    if (stop_requested_.wait_until(lock, next_start, [&] { return stopping_; })) return;
  }
}

void Poller::WorkerLoop(std::unique_ptr<JobFetcher> fetcher) {
  while (true) {
    JobKey key;
    std::shared_ptr<const ProjectContext> project;
    BodyFingerprint known = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_available_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      key = queue_.front();
      queue_.pop_front();
      const JobRecord& record = jobs_.at(key);
      project = projects_[record.project_index].context;
      known = record.parsed_fingerprint;
    }
    FetchResult result = fetcher->Fetch(*project, key.second, known);
    std::shared_ptr<const RenderedJob> rendered;
    // Render outside the lock (scrapes and other workers go on), and only what changed.
    if (result.has_new_job() && options_.render_job) {
      JobSnapshot identity;
      identity.project_id = key.first;
      identity.job_id = key.second;
      rendered = options_.render_job(identity, result.job, options_.render);
    }
    ApplyResult(key, result, std::move(rendered));
  }
}

void Poller::ApplyResult(const JobKey& key, const FetchResult& result, std::shared_ptr<const RenderedJob> rendered) {
  std::lock_guard<std::mutex> lock(mutex_);
  --outstanding_;
  if (outstanding_ == 0) round_finished_.notify_all();
  auto it = jobs_.find(key);
  if (it == jobs_.end()) return;
  JobRecord& record = it->second;
  record.in_flight = false;
  ProjectRecord& project = projects_[record.project_index];
  project.state.has_answered = true;
  project.state.up = result.api_reachable();

  if (result.kind == FetchResult::Kind::kNotFound && !record.explicit_job) {
    log::Info("Discovered batch job answers 404; dropped", {{"project_id", key.first}, {"job_id", key.second}});
    jobs_.erase(it);
    MaybePublishLocked();
    return;
  }
  auto next = std::make_shared<JobSnapshot>(*record.published);
  next->last_fetch_ok = result.ok();
  // An unchanged answer is the same bytes as last_good's: its values and text stay as they are.
  if (result.has_new_job()) {
    record.parsed_fingerprint = result.body_fingerprint;
    // With the text rendered, the tasks are not needed any more: keep the summary only (memory).
    next->last_good = std::make_shared<const BatchJob>(rendered ? SummaryOf(result.job) : result.job);
    next->rendered = std::move(rendered);
  }
  if (result.ok()) next->last_success_unix = clock_();
  if (result.api_reachable()) record.last_fetch_unix = clock_();
  record.published = std::move(next);

  std::string previous_failure = record.last_failure;
  record.last_failure = result.ok() ? "" : std::string(result.message);
  record.consecutive_failures = result.ok() ? 0 : record.consecutive_failures + 1;
  // 0, 1, 3, 3... rounds skipped after the 1st, 2nd, 3rd... failure in a row.
  record.rounds_to_skip =
      std::min((1 << std::min(std::max(record.consecutive_failures - 1, 0), 4)) - 1, kMaxSkippedRounds);
  LogOutcome(record, result, previous_failure);
  MaybePublishLocked();
}

// One warning when a job starts failing or fails differently, one info line when it recovers; repeats of the
// same failure go to debug, so a job that stays broken does not flood the log.
void Poller::LogOutcome(const JobRecord& record, const FetchResult& result, const std::string& previous_failure) {
  const std::string& project_id = projects_[record.project_index].context->project_id;
  if (result.ok()) {
    if (!previous_failure.empty()) {
      log::Info("Job fetch recovered", {{"project_id", project_id}, {"job_id", record.job_id}});
    }
    return;
  }
  const bool repeated = previous_failure == result.message;
  if (repeated && !log::Enabled(log::Level::kDebug)) return;
  log::Write(repeated ? log::Level::kDebug : log::Level::kWarn, "Job fetch failed",
             {{"project_id", project_id},
              {"job_id", record.job_id},
              {"kind", KindName(result.kind)},
              {"status", result.http_status},
              {"request_id", result.request_id.empty() ? "-" : result.request_id},
              {"err", result.message}});
}

void Poller::MaybePublishLocked() {
  if (std::chrono::steady_clock::now() - last_publish_ >= kPublishEvery || outstanding_ == 0) {
    PublishLocked();
  } else {
    unpublished_changes_ = true;  // the round's thread publishes it within kPublishEvery
  }
}

void Poller::PublishLocked() {
  last_publish_ = std::chrono::steady_clock::now();
  unpublished_changes_ = false;
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->render = options_.render;
  snapshot->projects.reserve(projects_.size());
  for (const ProjectRecord& project : projects_) snapshot->projects.push_back(project.state);
  snapshot->jobs.reserve(jobs_.size());
  for (const auto& [key, record] : jobs_) snapshot->jobs.push_back(record.published);
  snapshot->last_round_seconds = last_round_seconds_;
  snapshot->has_completed_round = has_completed_round_;
  snapshot->rounds_overrun = rounds_overrun_;
  store_.Publish(std::move(snapshot));
}

}  // namespace ief
