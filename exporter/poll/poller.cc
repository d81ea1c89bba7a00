#include "poll/poller.h"

#include <algorithm>
#include <chrono>
#include <tuple>

#include "util/log.h"

namespace ief {

struct Poller::ProjectRecord {
  std::shared_ptr<const ProjectContext> context;
  ProjectSnapshot state;
};

struct Poller::JobRecord {
  size_t project_index = 0;
  std::string job_id;
  bool in_flight = false;
  std::string last_failure;  // message of the latest failure; empty after a success
  int consecutive_failures = 0;
  int rounds_to_skip = 0;    // back-off of a job that keeps failing
  std::shared_ptr<const JobSnapshot> published;
};

namespace {

class IefFetcher : public JobFetcher {
 public:
  IefFetcher(CurlTransportOptions transport_options, IefClientOptions client_options, ApiObserver* observer)
      : transport_(transport_options), client_(transport_, observer, client_options) {}
  FetchResult Fetch(const ProjectContext& project, const std::string& job_id) override {
    return client_.ShowBatchJob(project, job_id);
  }

 private:
  CurlTransport transport_;
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

}  // namespace

JobFetcherFactory MakeIefFetcherFactory(CurlTransportOptions transport_options, IefClientOptions client_options,
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
  // Sorted by (project_id, job_id) so snapshots, and so scrapes, come out in a stable order.
  std::sort(projects.begin(), projects.end(),
            [](const TrackedProject& a, const TrackedProject& b) { return a.context->project_id < b.context->project_id; });
  for (TrackedProject& project : projects) {
    std::sort(project.job_ids.begin(), project.job_ids.end());
    size_t project_index = projects_.size();
    projects_.push_back(ProjectRecord{project.context, ProjectSnapshot{project.context->project_id, false, false}});
    for (const std::string& job_id : project.job_ids) {
      JobRecord record;
      record.project_index = project_index;
      record.job_id = job_id;
      auto initial = std::make_shared<JobSnapshot>();
      initial->project_id = project.context->project_id;
      initial->job_id = job_id;
      record.published = std::move(initial);
      jobs_.push_back(std::move(record));
    }
  }
  if (previous != nullptr) SeedFrom(*previous);
  std::lock_guard<std::mutex> lock(mutex_);
  PublishLocked();
}

void Poller::SeedFrom(const Snapshot& previous) {
  for (ProjectRecord& project : projects_) {
    for (const ProjectSnapshot& old : previous.projects) {
      if (old.project_id == project.state.project_id) project.state = old;
    }
  }
  // Both lists are sorted by (project_id, job_id): one merge pass.
  auto old = previous.jobs.begin();
  for (JobRecord& record : jobs_) {
    auto key = [](const JobSnapshot& job) { return std::tie(job.project_id, job.job_id); };
    while (old != previous.jobs.end() && key(**old) < key(*record.published)) ++old;
    if (old != previous.jobs.end() && key(**old) == key(*record.published)) record.published = *old;
  }
}

Poller::~Poller() { Stop(); }

void Poller::StartWorkers() {
  if (!workers_.empty()) return;
  int count = std::max(1, std::min<int>(options_.max_concurrency, static_cast<int>(std::max<size_t>(jobs_.size(), 1))));
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

void Poller::RunRound() {
  StartWorkers();
  auto started = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (jobs_[i].in_flight) continue;  // still running from an earlier round: never queue a job twice
    if (jobs_[i].rounds_to_skip > 0) {  // backing off after repeated failures
      --jobs_[i].rounds_to_skip;
      continue;
    }
    jobs_[i].in_flight = true;
    queue_.push_back(i);
    ++outstanding_;
  }
  work_available_.notify_all();
  round_finished_.wait(lock, [&] { return outstanding_ == 0 || stopping_; });
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
    // An overrun round leaves next_start in the past: the next round then starts at once.
    auto next_start = round_start + options_.poll_interval;
    if (stop_requested_.wait_until(lock, next_start, [&] { return stopping_; })) return;
  }
}

void Poller::WorkerLoop(std::unique_ptr<JobFetcher> fetcher) {
  while (true) {
    size_t index;
    std::shared_ptr<const ProjectContext> project;
    std::string job_id;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_available_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      index = queue_.front();
      queue_.pop_front();
      project = projects_[jobs_[index].project_index].context;
      job_id = jobs_[index].job_id;
    }
    FetchResult result = fetcher->Fetch(*project, job_id);
    ApplyResult(index, result);
  }
}

void Poller::ApplyResult(size_t job_index, const FetchResult& result) {
  std::lock_guard<std::mutex> lock(mutex_);
  JobRecord& record = jobs_[job_index];
  ProjectRecord& project = projects_[record.project_index];
  project.state.has_answered = true;
  project.state.up = result.api_reachable();

  auto next = std::make_shared<JobSnapshot>(*record.published);
  next->last_fetch_ok = result.ok();
  if (result.ok()) {
    next->last_good = std::make_shared<const BatchJob>(result.job);
    next->last_success_unix = clock_();
  }
  record.published = std::move(next);

  std::string previous_failure = record.last_failure;
  record.last_failure = result.ok() ? "" : std::string(result.message);
  record.consecutive_failures = result.ok() ? 0 : record.consecutive_failures + 1;
  // 0, 1, 3, 3... rounds skipped after the 1st, 2nd, 3rd... failure in a row.
  record.rounds_to_skip =
      std::min((1 << std::min(std::max(record.consecutive_failures - 1, 0), 4)) - 1, kMaxSkippedRounds);
  LogOutcome(record, result, previous_failure);

  record.in_flight = false;
  --outstanding_;
  PublishLocked();
  if (outstanding_ == 0) round_finished_.notify_all();
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

void Poller::PublishLocked() {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->render = options_.render;
  snapshot->projects.reserve(projects_.size());
  for (const ProjectRecord& project : projects_) snapshot->projects.push_back(project.state);
  snapshot->jobs.reserve(jobs_.size());
  for (const JobRecord& record : jobs_) snapshot->jobs.push_back(record.published);
  snapshot->last_round_seconds = last_round_seconds_;
  snapshot->has_completed_round = has_completed_round_;
  snapshot->rounds_overrun = rounds_overrun_;
  store_.Publish(std::move(snapshot));
}

}  // namespace ief
