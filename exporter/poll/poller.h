// The poller: the threads around a JobTracker. It does the I/O the tracker asks for and hands on what the tracker
// decides: snapshots to scrapes, transitions to the history counters.
//
// Every poll_interval a round starts:
//   1. The projects whose list is due read every page of ListBatchJob; the tracker applies each walk (new jobs are
//      shown at once with their list values, discovered jobs that left the list are dropped).
//   2. The tracker queues the ShowBatchJob calls worth their cost (job_tracker.h says which).
//   3. max_concurrency workers fetch them. Urgent work (changed and new jobs) is what a round waits for; background
//      work (the first fill, refreshes) goes on between rounds within its share of the endpoint's rate.
//
// Transitions are delivered to the observer after the poller's lock is released. With a state file
// (PollerOptions::save_history) they are delivered only after the history that contains them was saved, at most
// once per kMinHistorySaveInterval: a kill between the two loses them, but never counts them twice. At a shutdown,
// transitions decided but not delivered yet are left out of the file, so the next process counts them where a
// scrape can see them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "poll/job_tracker.h"
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

// Saves the history (the state file). Called from the poller's own thread, never under its lock.
using HistorySaver = std::function<void(const HistoryState& history)>;

// With a state file, saves happen at most this often while transitions or jobs' histories change (transitions wait
// for the next save), and a history whose only change is a watermark that moved is saved this often.
inline constexpr Duration kMinHistorySaveInterval = std::chrono::seconds(2);
inline constexpr Duration kQuietHistorySaveInterval = std::chrono::minutes(1);

struct PollerOptions {
  TrackerOptions tracking;
  int max_concurrency = 8;
  PollObserver* observer = nullptr;
  HistorySaver save_history;  // none: no state file, transitions are delivered at once
  const Clock* clock = &SystemClock();
};

// What a new poller starts from: the last snapshot of the one it replaces (a reload), and what was counted before
// (a reload's, or the state file's after a restart).
struct PollerSeed {
  const Snapshot* previous = nullptr;
  HistoryState history;
};

class Poller {
 public:
  Poller(PollerOptions options, std::vector<TrackedProject> projects, JobFetcherFactory fetchers,
         SnapshotStore& store, PollerSeed seed = {});
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Starts the workers and the round scheduler in the background.
  void Start();
  // Stops scheduling, aborts requests in flight and joins every thread. Transitions still pending stay pending: a
  // reload commits them (Commit) and carries the history on (History), a shutdown calls Shutdown. Idempotent.
  void Stop();
  // Stops, then saves the history if no transition is pending (the file then holds everything); with transitions
  // pending, the file stays as of the last commit and the next process counts them again, where a scrape sees them.
  void Shutdown();
  // Runs one round now and returns when its urgent work is done (tests use it without Start's scheduler).
  void RunRound();
  // Waits until nothing is queued or in flight, background work included, and every transition is delivered (tests).
  void WaitUntilIdle();
  // Saves (with a state file, when something changed) and delivers the transitions decided so far, now.
  void Commit();
  // What was counted so far: the seed of the next poller.
  HistoryState History();

  bool FirstRoundDone() const { return first_round_done_; }

 private:
  void StartWorkers();
  void WorkerLoop(std::unique_ptr<JobFetcher> fetcher);
  std::optional<JobTracker::FetchTicket> NextFetchLocked(std::chrono::nanoseconds& retry_in);
  void SchedulerLoop();
  void CommitLoop();
  bool HistoryChangedLocked() const;
  bool SaveDueLocked(std::chrono::steady_clock::time_point last_save) const;
  void ListDueProjects();
  void PublishLocked();
  // After the tracker decided something: deliver at once without a state file, else wake the committer.
  void TransitionsDecided();

  PollerOptions options_;
  JobFetcherFactory fetcher_factory_;
  SnapshotStore& store_;
  const Clock& clock_;

  std::mutex mutex_;
  std::condition_variable work_available_;
  std::condition_variable work_done_;
  std::condition_variable stop_requested_;
  std::condition_variable commit_wanted_;
  JobTracker tracker_;
  bool stopping_ = false;

  std::mutex commit_mutex_;  // one commit at a time, so saves and deliveries keep their order
  // What the latest save held (guarded by mutex_): the tracker's versions then. None before the first save.
  std::optional<std::pair<uint64_t, uint64_t>> saved_versions_;

  Cancellation cancellation_;
  std::atomic<bool> first_round_done_{false};
  std::unique_ptr<JobFetcher> lister_;  // used by the round's thread for ListBatchJob
  std::vector<std::thread> workers_;
  std::thread scheduler_;
  std::thread committer_;
};

}  // namespace ief
