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
// once per kMinHistorySaveInterval: a kill between the two loses them, but never counts them twice. While saves
// fail, they wait (and saves are tried again). At a shutdown, transitions decided but not delivered yet are left out
// of the file, so the next process counts them where a scrape can see them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
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
#include "util/mutex.h"

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

// Saves the history (the state file); false when it could not. Called from one thread at a time, never under the
// poller's lock.
using HistorySaver = std::function<bool(const HistoryState& history)>;

// Transitions held back while saves fail (a full or read-only disk) are published once one succeeds; past this
// many they are published unsaved (a restart may then count them again), so memory stays bounded.
inline constexpr size_t kMaxHeldTransitions = 100000;

// With a state file, saves happen at most this often while transitions or jobs' histories change (transitions wait
// for the next save; the interval counts from the end of one save to the start of the next), and a history whose
// only change is a watermark that moved is saved this often.
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
  void Start() EXCLUDES(mutex_);
  // Stops scheduling, aborts requests in flight and joins every thread. Transitions still pending stay pending: a
  // reload commits them (Commit) and carries the history on (History), a shutdown calls Shutdown. Idempotent.
  void Stop() EXCLUDES(mutex_, commit_mutex_);
  // Stops, then saves the history if no transition is pending (the file then holds everything); with transitions
  // pending, the file stays as of the last commit and the next process counts them again, where a scrape sees them.
  // Idempotent: only the first call saves.
  void Shutdown() EXCLUDES(mutex_, commit_mutex_);
  // Runs one round now and returns when its urgent work is done (tests use it without Start's scheduler).
  void RunRound() EXCLUDES(mutex_);
  // Waits until nothing is queued or in flight, background work included, and every transition is delivered (tests).
  void WaitUntilIdle() EXCLUDES(mutex_, commit_mutex_);
  // Saves (with a state file, when something changed) and delivers the transitions decided so far, now.
  void Commit() EXCLUDES(mutex_, commit_mutex_) { Commit(Pace::kAtOnce); }
  // What was counted so far: the seed of the next poller.
  HistoryState History() EXCLUDES(mutex_);

  bool FirstRoundDone() const { return first_round_done_; }

 private:
  void StartWorkers();
  void WorkerLoop(std::unique_ptr<JobFetcher> fetcher);
  // Endpoints' background slots: those a worker has just taken, or those it wants.
  using BackgroundSlots = std::vector<std::shared_ptr<EndpointRateLimiter>>;
  // The worker's next fetch; nullopt when stopping.
  std::optional<JobTracker::FetchTicket> NextFetch() EXCLUDES(mutex_);
  std::optional<JobTracker::FetchTicket> NextFetchLocked(BackgroundSlots& held, BackgroundSlots& wanted)
      REQUIRES(mutex_);
  void SchedulerLoop();
  void CommitLoop();
  // kWhenDue: the committer's commit, which nothing else may have made early. Another thread's commit can come
  // between its wait and its commit; the pace is checked again under the lock, so that commit does not make the
  // next decision's save early.
  enum class Pace { kAtOnce, kWhenDue };
  void Commit(Pace pace) EXCLUDES(mutex_, commit_mutex_);
  bool HistoryChangedLocked() const REQUIRES(mutex_);
  bool SaveDueLocked() const REQUIRES(mutex_);
  bool SavePacedLocked() const REQUIRES(mutex_);  // kMinHistorySaveInterval has passed since the last save
  void NoteSaveEnded(bool saved) EXCLUDES(mutex_);
  void ListDueProjects();
  void Walk(const JobTracker::ListPlan& plan);
  void PublishLocked() REQUIRES(mutex_);
  // After the tracker decided something: deliver at once without a state file, else wake the committer.
  void TransitionsDecided() EXCLUDES(mutex_);

  PollerOptions options_;
  JobFetcherFactory fetcher_factory_;
  SnapshotStore& store_;
  const Clock& clock_;

  // The poller's lock: the tracker and what goes with it. Held only around the tracker's decisions and the
  // snapshot's publication; transitions reach the observer (another module) after it is released, under
  // commit_mutex_ only. Taken while commit_mutex_ is held, never the other way round.
  Mutex mutex_ ACQUIRED_AFTER(commit_mutex_);
  std::condition_variable work_available_;
  uint64_t work_queued_ GUARDED_BY(mutex_) = 0;  // counts the notifications of work_available_ for new work
  std::condition_variable work_done_;
  std::condition_variable stop_requested_;
  std::condition_variable commit_wanted_;
  JobTracker tracker_ GUARDED_BY(mutex_);
  bool stopping_ GUARDED_BY(mutex_) = false;

  Mutex commit_mutex_;  // one commit at a time, so saves and deliveries keep their order
  std::vector<Transition> held_ GUARDED_BY(commit_mutex_);  // decided, saved unsuccessfully: waiting for a save
  bool shut_down_ GUARDED_BY(commit_mutex_) = false;        // Shutdown has run: nothing more is saved
  std::atomic<bool> holding_{false};   // held_ is not empty
  // What the latest save held: the tracker's versions then. None before the first save.
  std::optional<std::pair<uint64_t, uint64_t>> saved_versions_ GUARDED_BY(mutex_);
  // When the latest save ended, whichever thread made it: the committer's pace counts them all. None before it.
  std::optional<SteadyTime> last_save_at_ GUARDED_BY(mutex_);

  Cancellation cancellation_;
  std::atomic<bool> first_round_done_{false};
  std::unique_ptr<JobFetcher> lister_;  // used by the round's thread for ListBatchJob
  std::map<size_t, std::string> last_walk_problem_;  // per project: a list walk's problem, logged once (round's thread)
  std::vector<std::thread> workers_;
  std::thread scheduler_;
  std::thread committer_;
};

}  // namespace ief
