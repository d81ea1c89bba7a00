// The poller. Every poll_interval it runs a round:
//   1. for projects with discovery due: read every page of ListBatchJob, add the jobs that match the filters and
//      this replica's shard, drop discovered jobs that left the list;
//   2. queue the jobs worth a ShowBatchJob: never fetched yet, active (Waiting/Running/Stopping), changed since
//      the last fetch according to the list, or, without a fresh list, not finished or due for the
//      terminal_recheck_interval;
//   3. max_concurrency workers fetch them; each answer updates its job and publishes a new Snapshot.
// A job is never queued twice; a round that outlasts the interval counts as an overrun and the next starts at
// once. A job that keeps failing is skipped for a few rounds.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ief/ief_client.h"
#include "poll/discovery.h"
#include "poll/snapshot.h"
#include "util/cancellation.h"
#include "util/duration.h"

namespace ief {

// Talks to IEF for the poller. Each worker thread (and the round scheduler, for lists) gets its own, so
// implementations need not be thread-safe.
class JobFetcher {
 public:
  virtual ~JobFetcher() = default;
  // `known`: fingerprint of the answer last parsed for this job (0: none); see IefClient::ShowBatchJob.
  virtual FetchResult Fetch(const ProjectContext& project, const std::string& job_id, BodyFingerprint known) = 0;
  virtual FetchResult ListPage(const ProjectContext& project, long offset, long limit) {
    (void)project;
    (void)offset;
    (void)limit;
    FetchResult unsupported;
    unsupported.message = "listing is not supported by this fetcher";
    return unsupported;
  }
};
// Builds one fetcher per thread. `cancellation` is the poller's: fetchers abort waits and transfers when it fires.
using JobFetcherFactory = std::function<std::unique_ptr<JobFetcher>(Cancellation* cancellation)>;

// The production fetcher: an IefClient over its own transport (so connections are reused per thread).
JobFetcherFactory MakeIefFetcherFactory(HttpTransportOptions transport_options, IefClientOptions client_options,
                                        ApiObserver* observer);

struct TrackedProject {
  std::shared_ptr<const ProjectContext> context;
  std::vector<std::string> job_ids;  // explicit jobs (config)
  DiscoveryConfig discovery;         // enabled = false: explicit jobs only
};

// Renders a freshly fetched job's exposition text, on the worker thread that fetched it.
using JobRenderHook = std::function<std::shared_ptr<const RenderedJob>(const JobSnapshot& identity,
                                                                     const BatchJob& job, const RenderOptions&)>;

struct PollerOptions {
  Duration poll_interval = std::chrono::seconds(30);
  int max_concurrency = 8;
  RenderOptions render;
  Duration terminal_recheck_interval = std::chrono::minutes(10);
  int shard = 0;
  int total_shards = 1;
  long list_page_size = 100;
  // When set, jobs are rendered as they arrive and only their summary is kept; else rendering happens at scrape.
  JobRenderHook render_job;
};

// Wall-clock seconds since the epoch; injectable for tests.
using WallClock = std::function<double()>;
double SystemWallClock();

// Answers are published in batches at most this often: a snapshot copies one pointer per job, so publishing
// after every answer of a large tenant polled flat out would cost more than the answers themselves.
inline constexpr auto kPublishEvery = std::chrono::milliseconds(50);

// Rounds start at least this far apart, whatever the poll interval.
inline constexpr auto kMinRoundSpacing = std::chrono::milliseconds(1);

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
  // Stops scheduling, aborts requests in flight, joins every thread. Idempotent.
  void Stop();
  // Runs one round now and returns when it is done (tests use it without Start's scheduler).
  void RunRound();

  bool FirstRoundDone() const { return first_round_done_; }

 private:
  struct JobRecord;
  struct ProjectRecord;
  using JobKey = std::pair<std::string, std::string>;  // (project_id, job_id)

  JobRecord& AddRecord(size_t project_index, const std::string& job_id, bool explicit_job);
  void SeedFrom(const Snapshot& previous);
  void StartWorkers();
  void WorkerLoop(std::unique_ptr<JobFetcher> fetcher);
  void SchedulerLoop();
  void DiscoverDueProjects(double now_unix);
  void ApplyListing(size_t project_index, const FetchResult& listing, double now_unix);
  bool NeedsFetch(JobRecord& record, double now_unix);
  void ApplyResult(const JobKey& key, const FetchResult& result, std::shared_ptr<const RenderedJob> rendered);
  void LogOutcome(const JobRecord& record, const FetchResult& result, const std::string& previous_failure);
  void PublishLocked();
  // Publishes unless the last publication is younger than kPublishEvery (the round's end always publishes).
  void MaybePublishLocked();

  PollerOptions options_;
  JobFetcherFactory fetcher_factory_;
  SnapshotStore& store_;
  WallClock clock_;

  std::mutex mutex_;
  std::condition_variable work_available_;
  std::condition_variable round_finished_;
  std::condition_variable stop_requested_;
  std::vector<ProjectRecord> projects_;
  std::map<JobKey, JobRecord> jobs_;  // sorted, so snapshots come out in a stable order
  std::deque<JobKey> queue_;
  size_t outstanding_ = 0;
  bool stopping_ = false;
  double last_round_seconds_ = 0;
  bool has_completed_round_ = false;
  uint64_t rounds_overrun_ = 0;
  std::chrono::steady_clock::time_point last_publish_{};
  bool unpublished_changes_ = false;

  Cancellation cancellation_;
  std::atomic<bool> first_round_done_{false};
  std::unique_ptr<JobFetcher> lister_;  // used by the round's thread for ListBatchJob
  std::vector<std::thread> workers_;
  std::thread scheduler_;
};

}  // namespace ief
