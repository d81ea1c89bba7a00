#include "app/exporter_app.h"

#include "ief/auth.h"
#include "metrics/job_text.h"
#include "util/log.h"

namespace ief {
namespace {

std::vector<TrackedProject> TrackedProjects(const Config& config, const AuthDependencies& auth_deps,
                                            RateLimiterRegistry& rate_limiters) {
  std::vector<TrackedProject> tracked;
  for (const ProjectConfig& project : config.projects) {
    auto context = std::make_shared<ProjectContext>();
    context->project_id = project.project_id;
    context->endpoint = project.endpoint;
    context->instance_id = project.instance_id;
    context->authenticator = MakeAuthenticator(project, auth_deps);
    context->rate_limiter = rate_limiters.ForEndpoint(project.endpoint);
    tracked.push_back({context, project.jobs, project.discovery});
  }
  return tracked;
}

}  // namespace

ExporterApp::ExporterApp(ShardAssignment shard, HttpClientKind http_client)
    : shard_(shard), http_client_(http_client), api_metrics_(registry_), info_metrics_(registry_, shard) {
  exposition_.SetSnapshotSource(&store_);
  exposition_.Add(&registry_);
  exposition_.Add(&process_collector_);
}

ExporterApp::~ExporterApp() { Stop(); }

std::unique_ptr<Poller> ExporterApp::BuildPoller(const Config& config, const Snapshot* previous) {
  const GlobalConfig& global = config.global;
  HttpTransportOptions transport;
  transport.total_timeout = global.request_timeout;
  transport.connect_timeout = std::min(global.request_timeout, Duration(std::chrono::seconds(5)));
  transport.client = http_client_;
  IefClientOptions client;
  client.retry.max_retries = global.max_retries;
  client.retry_budget = global.poll_interval;
  rate_limiters_ = std::make_unique<RateLimiterRegistry>(global.rate_limit);
  AuthDependencies auth_deps{&api_metrics_, transport, SystemWallClock};
  PollerOptions options;
  options.poll_interval = global.poll_interval;
  options.max_concurrency = global.max_concurrency;
  options.render = RenderOptions{global.per_task_metrics, global.max_tasks_per_job};
  options.terminal_recheck_interval = global.terminal_recheck_interval;
  options.shard = shard_.ordinal;
  options.total_shards = shard_.total;
  options.render_job = RenderJob;
  return std::make_unique<Poller>(options, TrackedProjects(config, auth_deps, *rate_limiters_),
                                  MakeIefFetcherFactory(transport, client, &api_metrics_), store_, SystemWallClock,
                                  previous);
}

void ExporterApp::Start(Config config) {
  std::lock_guard<std::mutex> lock(mutex_);
  config_ = std::move(config);
  poller_ = BuildPoller(config_, nullptr);
  poller_->Start();
  info_metrics_.RecordConfigLoad(true, SystemWallClock());
}

Status ExporterApp::Reload() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (config_.source == kDemoConfigSource) return Error{"the demo has no config file to reload"};
  Result<Config> next = LoadConfigFile(config_.source);
  if (!next.ok()) {
    info_metrics_.RecordConfigLoad(false, SystemWallClock());
    log::Error("Config reload refused; the running config stays", {{"file", config_.source}, {"err", next.error()}});
    return Error{next.error()};
  }
  ReadyLocked();  // latch readiness before the old poller goes
  // Stop first, so two pollers never publish into the store at once; the new one starts from the last snapshot.
  if (poller_) poller_->Stop();
  std::shared_ptr<const Snapshot> previous = store_.Load();
  config_ = std::move(next).value();
  poller_ = BuildPoller(config_, previous.get());
  poller_->Start();
  info_metrics_.RecordConfigLoad(true, SystemWallClock());
  size_t jobs = 0;
  for (const auto& project : config_.projects) jobs += project.jobs.size();
  log::Info("Config reloaded", {{"file", config_.source},
                                {"projects", static_cast<long>(config_.projects.size())},
                                {"jobs", static_cast<long>(jobs)}});
  return Status::Ok();
}

void ExporterApp::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (poller_) poller_->Stop();
}

bool ExporterApp::Ready() {
  if (ready_) return true;
  // A probe must not wait for a reload in progress: if the lock is taken, answer with what is known.
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  return lock.owns_lock() ? ReadyLocked() : ready_.load();
}

bool ExporterApp::ReadyLocked() {
  if (!ready_ && poller_ && poller_->FirstRoundDone()) ready_ = true;
  return ready_;
}

}  // namespace ief
