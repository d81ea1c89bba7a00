// The poller: decides which IEF calls are worth their cost, makes them, and publishes what they tell.
//
// Every poll_interval a round starts:
//   1. Projects whose list is due read every page of ListBatchJob (projects with discovery every
//      discovery.interval; projects with only configured jobs whenever a list walk costs fewer calls than
//      fetching their active jobs one by one). A job the list shows for the first time is published at once with
//      its list-level values (status, counts, timestamps); discovered jobs that left the list are dropped.
//   2. Jobs worth a ShowBatchJob are queued (see FetchQueue for the order): the list summary differs from what
//      the last details showed; no details yet; active and details older than active_refresh_interval; or, in a
//      project without a list this round, active (configured jobs) or due for terminal_recheck_interval.
//   3. max_concurrency workers fetch them. Urgent work (changed and new jobs) is what a round waits for; the
//      background work (the first fill, refreshes) goes on between rounds within its share of the endpoint's
//      rate (EndpointRateLimiter).
// A job is never queued twice; a job that keeps failing is skipped for a few rounds.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "poll/discovery.h"
#include "poll/fetch_queue.h"
#include "poll/poll_observer.h"
#include "poll/snapshot.h"
#include "upstream/ief_client.h"
#include "upstream/upstream_state.h"
#include "util/cancellation.h"
#include "util/duration.h"

namespace ief {

// Talks to IEF for the poller. Each worker thread (and the round scheduler, for lists) gets its own, so
// implementations need not be thread-safe.
class JobFetcher {
 public:
  virtual ~JobFetcher() = default;
  virtual Fetched<BatchJob> Fetch(const ProjectContext& project, const std::string& job_id,
                                  RequestPriority priority) = 0;
  virtual Fetched<BatchJobList> ListPage(const ProjectContext& project, long offset, long limit) = 0;
};
// Builds one fetcher per thread. `cancellation` is the poller's: fetchers abort waits and transfers when it fires.
using JobFetcherFactory = std::function<std::unique_ptr<JobFetcher>(const Cancellation* cancellation)>;

// The production fetcher: an IefClient over a transport borrowed from `transports` (so connections are reused
// per thread, and across reloads).
JobFetcherFactory MakeIefFetcherFactory(TransportPool& transports, IefClientOptions client_options,
                                        ApiObserver* observer);

struct TrackedProject {
  std::shared_ptr<const ProjectContext> context;
  std::vector<std::string> job_ids;  // explicit jobs (config)
  DiscoveryConfig discovery;         // enabled = false: explicit jobs only
};

// Renders a job's exposition text (from its details or its list summary), on the thread that received it.
using JobRenderHook = std::function<std::shared_ptr<const RenderedJob>(const JobSnapshot& identity,
                                                                     const BatchJob& job)>;

struct PollerOptions {
  Duration poll_interval = std::chrono::seconds(30);
  int max_concurrency = 8;
  Duration terminal_recheck_interval = std::chrono::minutes(10);
  Duration active_refresh_interval = std::chrono::minutes(5);  // 0: every round, at urgent priority
  int shard = 0;
  int total_shards = 1;
  long list_page_size = 100;
  // When set, jobs are rendered as they arrive and only their summary is kept; else rendering happens at scrape.
  JobRenderHook render_job;
  // A reload changed how jobs are rendered: carried-over details are fetched again (in the background).
  bool rerender_carried_jobs = false;
  // A discovered job's series go this long after it finished (its status_last_updated_at); 0: never.
  Duration finished_job_retention = std::chrono::hours(72);
  // Transitions are reported for what happened from here on (the process's start): older ones were not seen.
  WallTime history_since{};
  PollObserver* observer = nullptr;
  const Clock* clock = &SystemClock();
};

// A job whose list summary keeps differing from its details after this many fetches is left to the refresh
// schedule: a list and a detail answer that disagree for good must not cost a call every round.
inline constexpr int kMaxFetchesPerListing = 2;

// A job that keeps failing is skipped for 1, then 3 rounds (at most this many) before it is asked again.
inline constexpr int kMaxSkippedRounds = 3;

class Poller {
 public:
  // `previous`, when given, seeds the jobs and projects that were already known (a config reload), so their
  // series carry on without a gap.
  Poller(PollerOptions options, std::vector<TrackedProject> projects, JobFetcherFactory fetchers,
         SnapshotStore& store, const Snapshot* previous = nullptr);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Starts the workers and the round scheduler in the background.
  void Start();
  // Stops scheduling, aborts requests in flight, joins every thread. Idempotent.
  void Stop();
  // Runs one round now and returns when its urgent work is done (tests use it without Start's scheduler).
  void RunRound();
  // Waits until nothing is queued or in flight, background work included (tests).
  void WaitUntilIdle();

  bool FirstRoundDone() const { return first_round_done_; }

 private:
  struct JobRecord;
  struct ProjectRecord;
  using JobKey = FetchQueue::Key;
  // A job's status as last seen (from the list or its details): transitions are counted from it.
  struct SeenStatus {
    std::string status;
    std::optional<int64_t> updated_at;
    static SeenStatus Of(const BatchJob& job) { return {job.status, job.status_last_updated_at}; }
    bool operator==(const SeenStatus&) const = default;
  };

  JobRecord& AddRecord(size_t project_index, const std::string& job_id, JobSource source);
  void SeedFrom(const Snapshot& previous);
  void StartWorkers();
  void WorkerLoop(std::unique_ptr<JobFetcher> fetcher);
  std::optional<std::pair<JobKey, FetchReason>> PickLocked(std::chrono::nanoseconds& retry_in);
  void SchedulerLoop();
  void ListDueProjects();
  bool ListDueLocked(const ProjectRecord& project, SteadyTime now) const;
  void ApplyListing(size_t project_index, const Fetched<BatchJobList>& listing);
  void TrackListedJob(size_t project_index, const BatchJob& summary, std::set<std::string>& matched);
  void DropUnlisted(size_t project_index, const std::set<std::string>& matched);
  void QueueDueJobs(SteadyTime now);
  bool ListConfirmsDetails(const JobRecord& record) const;
  std::optional<FetchReason> NeedsFetch(JobRecord& record, SteadyTime now) const;
  std::optional<FetchReason> RefreshIfDue(const JobRecord& record, std::string_view status, SteadyTime now) const;
  void ShowListedValues(JobRecord& record, const BatchJob& summary);
  void KeepListedSummary(JobRecord& record, const BatchJob& summary);
  bool FinishedLongAgo(const BatchJob& summary) const;
  void SetExpired(JobRecord& record, bool expired);
  void ObserveStatus(JobRecord& record, const BatchJob& job);
  void ObserveTasks(JobRecord& record, const TaskTally* before, const TaskTally& after, const std::string& job_type);
  void ReportFinished(const JobLabels& labels, const BatchJob& job);
  void ReportStarted(const JobLabels& labels, const BatchJob& job);
  // What a worker makes of a job's details before taking the lock.
  struct Digest {
    std::shared_ptr<const RenderedJob> rendered;
    std::shared_ptr<const TaskTally> tally;
  };
  void ApplyResult(const JobKey& key, FetchReason reason, const Fetched<BatchJob>& result, Digest digest);
  void RecordOutcome(JobRecord& record, const Fetched<BatchJob>& result);
  void EraseRecord(std::map<JobKey, JobRecord>::iterator record);
  void DropDiscovered(std::map<JobKey, JobRecord>::iterator record);
  void ForgetDroppedLongAgo(SteadyTime now);
  void PublishLocked();

  PollerOptions options_;
  JobFetcherFactory fetcher_factory_;
  SnapshotStore& store_;
  const Clock& clock_;

  std::mutex mutex_;
  std::condition_variable work_available_;
  std::condition_variable work_done_;
  std::condition_variable stop_requested_;
  std::vector<ProjectRecord> projects_;
  std::map<JobKey, JobRecord> jobs_;  // sorted, so snapshots come out in a stable order
  // Discovered jobs dropped lately, with the status last seen: one that comes back (a list walk skipped it while
  // jobs were deleted, a transient 404) is not counted again as a new job finishing. Forgotten after a while.
  struct Dropped {
    SeenStatus seen;
    SteadyTime dropped_at;
  };
  std::map<JobKey, Dropped> recently_dropped_;
  FetchQueue queue_;
  size_t in_flight_ = 0;
  size_t urgent_in_flight_ = 0;
  bool stopping_ = false;
  double last_round_seconds_ = 0;
  bool has_completed_round_ = false;
  uint64_t rounds_overrun_ = 0;

  Cancellation cancellation_;
  std::atomic<bool> first_round_done_{false};
  std::unique_ptr<JobFetcher> lister_;  // used by the round's thread for ListBatchJob
  std::vector<std::thread> workers_;
  std::thread scheduler_;
};

}  // namespace ief
