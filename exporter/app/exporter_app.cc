#include "app/exporter_app.h"

#include "util/log.h"

namespace ief {
namespace {

std::vector<TrackedProject> TrackedProjects(const Config& config, UpstreamState& upstream) {
  std::vector<std::shared_ptr<const ProjectContext>> contexts = upstream.ProjectsFor(config);
  std::vector<TrackedProject> tracked;
  for (size_t i = 0; i < config.projects.size(); ++i) {
    tracked.push_back({contexts[i], config.projects[i].jobs, config.projects[i].discovery});
  }
  return tracked;
}

RenderOptions RenderOptionsOf(const GlobalConfig& global) {
  return RenderOptions{.per_task_metrics = global.per_task_metrics, .max_tasks_per_job = global.max_tasks_per_job};
}

PollMetricsOptions PollMetricsOptionsOf(const GlobalConfig& global) {
  PollMetricsOptions options{.node_failure_metrics = global.node_failure_metrics};
  for (Duration bucket : global.job_duration_buckets) options.job_duration_buckets.push_back(Seconds(bucket));
  return options;
}

}  // namespace

ExporterApp::ExporterApp(ShardAssignment shard)
    : shard_(shard),
      api_metrics_(registry_),
      poll_metrics_(registry_),
      info_metrics_(registry_, shard),
      started_(SystemClock().Wall()),
      upstream_(&api_metrics_),
      rate_limit_collector_([this] { return upstream_.RateLimits(); }) {
  exposition_.SetSnapshotSource(&store_);
  exposition_.Add(&registry_);
  exposition_.Add(&rate_limit_collector_);
  exposition_.Add(&process_collector_);
}

ExporterApp::~ExporterApp() { Stop(); }

std::unique_ptr<Poller> ExporterApp::BuildPoller(const Config& config, PollerSeed seed, Rendering rendering) {
  const GlobalConfig& global = config.global;
  IefClientOptions client{.retry = {.max_retries = global.max_retries},
                          .retry_budget = global.poll_interval,
                          .request_timeout = global.request_timeout};
  const RenderOptions render = RenderOptionsOf(global);
  PollerOptions options;
  options.tracking = TrackerOptions{
      .poll_interval = global.poll_interval,
      .terminal_recheck_interval = global.terminal_recheck_interval,
      .active_refresh_interval = global.active_refresh_interval,
      .shard = shard_.ordinal,
      .total_shards = shard_.total,
      .render_job = [render](const JobSnapshot& identity, const BatchJob& job) { return RenderJob(identity, job, render); },
      .rerender_carried_jobs = rendering == Rendering::kChanged,
      .finished_job_retention = global.finished_job_retention,
      .started_at = started_,
      .count_node_failures = global.node_failure_metrics,
  };
  options.max_concurrency = global.max_concurrency;
  options.observer = &poll_metrics_;
  if (history_store_) {
    options.save_history = [store = history_store_.get()](const HistoryState& history) { return store->Save(history); };
  }
  return std::make_unique<Poller>(options, TrackedProjects(config, upstream_),
                                  MakeIefFetcherFactory(upstream_.transports(), client, &api_metrics_), store_,
                                  std::move(seed));
}

Status ExporterApp::OpenStorage(const std::string& directory) {
  Result<std::unique_ptr<HistoryStore>> store = HistoryStore::Open(directory, shard_, info_metrics_);
  if (!store.ok()) return store.error();
  history_store_ = std::move(store).value();
  return Status::Ok();
}

void ExporterApp::Start(Config config) {
  MutexLock lock(mutex_);
  config_ = std::move(config);
  if (config_.projects.empty()) {
    log::Warn("No project configured: only the exporter's own metrics are served", {{"file", config_.source}});
  }
  poll_metrics_.Configure(PollMetricsOptionsOf(config_.global));
  PollerSeed seed;
  if (history_store_) {
    const int64_t started = static_cast<int64_t>(UnixSeconds(started_));
    if (std::optional<HistoryState> stored = history_store_->Load(started)) {
      seed.history = ResumeAfterRestart(std::move(*stored));
    }
  } else {
    log::Info("No --storage.path: the rollout history restarts from zero at every start");
  }
  poller_ = BuildPoller(config_, std::move(seed), Rendering::kSame);
  poller_->Start();
  info_metrics_.RecordConfigLoad(Outcome::kSucceeded, SystemClock().Wall());
}

Status ExporterApp::Reload() {
  MutexLock lock(mutex_);
  if (config_.source == kDemoConfigSource) {
    return Error(ErrorKind::kInvalidArgument, "the demo has no config file to reload");
  }
  Result<Config> next = LoadConfigFile(config_.source);
  if (!next.ok()) {
    info_metrics_.RecordConfigLoad(Outcome::kFailed, SystemClock().Wall());
    log::Error("Config reload refused; the running config stays",
               {{"file", config_.source}, {"err", next.error().message}});
    return next.error();
  }
  ReadyLocked();  // latch readiness before the old poller goes
  // Stop first, so two pollers never publish into the store at once (stopping saves the history); the new one starts
  // from the last snapshot and carries on with everything counted so far.
  PollerSeed seed;
  if (poller_) {
    poller_->Stop();
    poller_->Commit();  // what it decided is delivered (and saved) before the new poller carries on from it
    seed.history = poller_->History();
  }
  std::shared_ptr<const Snapshot> previous = store_.Load();
  seed.previous = previous.get();
  const Rendering rendering =
      RenderOptionsOf(config_.global) != RenderOptionsOf(next->global) ? Rendering::kChanged : Rendering::kSame;
  config_ = std::move(next).value();
  poll_metrics_.Configure(PollMetricsOptionsOf(config_.global));
  poller_ = BuildPoller(config_, std::move(seed), rendering);
  poller_->Start();
  info_metrics_.RecordConfigLoad(Outcome::kSucceeded, SystemClock().Wall());
  size_t jobs = 0;
  for (const auto& project : config_.projects) jobs += project.jobs.size();
  log::Info("Config reloaded", {{"file", config_.source},
                                {"projects", static_cast<long>(config_.projects.size())},
                                {"jobs", static_cast<long>(jobs)}});
  return Status::Ok();
}

void ExporterApp::Stop() {
  MutexLock lock(mutex_);
  if (poller_) poller_->Shutdown();
}

bool ExporterApp::Ready() {
  if (ready_) return true;
  // A probe must not wait for a reload in progress: if the lock is taken, answer with what is known.
  if (!mutex_.TryLock()) return ready_.load();
  const bool ready = ReadyLocked();
  mutex_.Unlock();
  return ready;
}

bool ExporterApp::ReadyLocked() {
  if (!ready_ && poller_ && poller_->FirstRoundDone()) ready_ = true;
  return ready_;
}

}  // namespace ief
