// The running exporter minus its front ends: owns the metric registry, the snapshot store, the collectors, the
// upstream state that outlives configs (authenticators, rate limiters, connections) and the current poller, and
// swaps the poller on a config reload. main.cc adds flags, signals and the web server.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "app/history_store.h"
#include "config/config.h"
#include "metrics/api_metrics.h"
#include "metrics/exposition.h"
#include "metrics/job_text.h"
#include "metrics/poll_metrics.h"
#include "metrics/process_collector.h"
#include "metrics/rate_limit_collector.h"
#include "poll/poller.h"
#include "upstream/upstream_state.h"
#include "util/mutex.h"
#include "util/result.h"

namespace ief {

class ExporterApp {
 public:
  explicit ExporterApp(ShardAssignment shard = {});
  ~ExporterApp();

  // Keeps the rollout history's state in `directory` (--storage.path), so that it survives restarts. Call before
  // Start. Fails only when another exporter keeps its state there.
  Status OpenStorage(const std::string& directory);
  // Starts polling with `config` (and the stored history, if any).
  void Start(Config config) EXCLUDES(mutex_);
  // Re-reads the config file it was started with. A bad file is refused (the error says why, with positions)
  // and the running config stays; either way the reload metrics record the outcome.
  Status Reload() EXCLUDES(mutex_);
  // Stops polling (requests in flight are aborted).
  void Stop() EXCLUDES(mutex_);

  // True once a first poll round has finished; stays true across reloads.
  bool Ready() EXCLUDES(mutex_);
  const Exposition& exposition() const { return exposition_; }
  // One more source for the telemetry page (the web server's TLS metrics); before the web server starts. It must
  // outlive the app.
  void AddCollectable(const prometheus::Collectable* source) { exposition_.Add(source); }
  const SnapshotStore& snapshots() const { return store_; }
  // Each endpoint's rate limiter, for the landing page.
  std::vector<std::pair<std::string, RateLimiterStats>> RateLimits() { return upstream_.RateLimits(); }

 private:
  // Whether a reload changed how jobs are rendered (the carried jobs' text is then rendered again).
  enum class Rendering : uint8_t { kSame, kChanged };
  std::unique_ptr<Poller> BuildPoller(const Config& config, PollerSeed seed, Rendering rendering);
  bool ReadyLocked() REQUIRES(mutex_);

  const ShardAssignment shard_;
  prometheus::Registry registry_;
  ApiMetrics api_metrics_;
  PollMetrics poll_metrics_;
  ExporterInfoMetrics info_metrics_;
  const WallTime started_;  // history counts what happens from here on
  SnapshotStore store_;
  ProcessCollector process_collector_;
  UpstreamState upstream_;
  RateLimitCollector rate_limit_collector_;
  Exposition exposition_;
  std::unique_ptr<HistoryStore> history_store_;  // none without --storage.path

  Mutex mutex_;  // serialises Start / Reload / Stop
  Config config_ GUARDED_BY(mutex_);
  std::unique_ptr<Poller> poller_ GUARDED_BY(mutex_);
  std::atomic<bool> ready_{false};
};

}  // namespace ief
