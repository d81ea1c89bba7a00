// The poller: every poll_interval, refreshes every tracked job through a pool of max_concurrency workers and
// publishes a new Snapshot after each answer. A job is never queued twice; a round that outlasts the interval is
// counted as an overrun and the next one starts at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ief/ief_client.h"
#include "poll/snapshot.h"
#include "util/cancellation.h"
#include "util/duration.h"

namespace ief {

// Fetches one job. The poller gives each worker thread its own fetcher, so implementations need not be
// thread-safe.
class JobFetcher {
 public:
  virtual ~JobFetcher() = default;
  virtual FetchResult Fetch(const ProjectContext& project, const std::string& job_id) = 0;
};
// Builds one fetcher per worker. `cancellation` is the poller's: fetchers abort waits and transfers when it fires.
using JobFetcherFactory = std::function<std::unique_ptr<JobFetcher>(Cancellation* cancellation)>;

// The production fetcher: an IefClient over its own CurlTransport (so connections are reused per worker).
JobFetcherFactory MakeIefFetcherFactory(CurlTransportOptions transport_options, IefClientOptions client_options,
                                        ApiObserver* observer);

struct TrackedProject {
  std::shared_ptr<const ProjectContext> context;
  std::vector<std::string> job_ids;
};

struct PollerOptions {
  Duration poll_interval = std::chrono::seconds(30);
  int max_concurrency = 8;
  RenderOptions render;
};

// Wall-clock seconds since the epoch; injectable for tests.
using WallClock = std::function<double()>;
double SystemWallClock();

// A job that keeps failing is skipped for 1, then 3 rounds (at most this many) before it is asked again.
inline constexpr int kMaxSkippedRounds = 3;

class Poller {
 public:
  // `previous`, when given, seeds the jobs and projects that were already known (a config reload), so their
  // series carry on without a gap.
  Poller(PollerOptions options, std::vector<TrackedProject> projects, JobFetcherFactory fetchers,
         SnapshotStore& store, WallClock clock = SystemWallClock, const Snapshot* previous = nullptr);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Starts the workers and the round scheduler in the background.
  void Start();
  // Stops scheduling, waits for requests in flight to end, joins every thread. Idempotent.
  void Stop();
  // Runs one round now and returns when it is done (tests use it without Start's scheduler).
  void RunRound();

  bool FirstRoundDone() const { return first_round_done_; }

 private:
  struct JobRecord;
  struct ProjectRecord;

  void SeedFrom(const Snapshot& previous);
  void StartWorkers();
  void WorkerLoop(std::unique_ptr<JobFetcher> fetcher);
  void SchedulerLoop();
  void ApplyResult(size_t job_index, const FetchResult& result);
  void LogOutcome(const JobRecord& record, const FetchResult& result, const std::string& previous_failure);
  void PublishLocked();

  PollerOptions options_;
  JobFetcherFactory fetcher_factory_;
  SnapshotStore& store_;
  WallClock clock_;

  std::mutex mutex_;
  std::condition_variable work_available_;
  std::condition_variable round_finished_;
  std::condition_variable stop_requested_;
  std::vector<ProjectRecord> projects_;
  std::vector<JobRecord> jobs_;
  std::deque<size_t> queue_;
  size_t outstanding_ = 0;
  bool stopping_ = false;
  double last_round_seconds_ = 0;
  bool has_completed_round_ = false;
  uint64_t rounds_overrun_ = 0;

  Cancellation cancellation_;
  std::atomic<bool> first_round_done_{false};
  std::vector<std::thread> workers_;
  std::thread scheduler_;
};

}  // namespace ief
