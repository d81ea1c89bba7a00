// JobTracker: what the poller knows of its projects and jobs, and every decision it makes from that: which projects
// to list, which jobs are worth a ShowBatchJob and why, what a list walk or a detail answer changes, what scrapes
// see, and which transitions the history counts (history.h has the counting rules).
//
// Plain code: no threads, no locks, no clock of its own (each call is told the time). The Poller owns one, calls
// it under its lock, does the I/O it asks for and hands the transitions on; tests drive it directly, step by step.
//
// What is fetched, in short (README "Spending the tenant's API quota"):
//   - a job's details, when the list summary differs from what its last details showed (at most
//     kMaxFetchesPerListing times per list version), when the job is new, or when an active job's details are older
//     than active_refresh_interval; at urgent priority when a counted finish waits for its last tasks
//     (FinalTasksOwed: at most kMaxFinalTasksRereads re-reads of lagging details);
//   - in a project without a list this round, configured active jobs every round and finished ones every
//     terminal_recheck_interval;
//   - never a job twice at once; a job that keeps failing is skipped for 1, then 3 rounds.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "poll/discovery.h"
#include "poll/fetch_queue.h"
#include "poll/history.h"
#include "poll/snapshot.h"
#include "upstream/ief_client.h"
#include "util/clock.h"
#include "util/duration.h"

namespace ief {

struct TrackedProject {
  std::shared_ptr<const ProjectContext> context;
  std::vector<std::string> job_ids;  // explicit jobs (config)
  DiscoveryConfig discovery;         // enabled = false: explicit jobs only
};

// Renders a job's exposition text (from its details or its list summary).
using JobRenderHook = std::function<std::shared_ptr<const RenderedJob>(const JobSnapshot& identity,
                                                                     const BatchJob& job)>;

// The time a call happens at: steady time for intervals, wall time for what is shown and compared with the API.
struct Moment {
  SteadyTime steady;
  WallTime wall;
  static Moment Now(const Clock& clock) { return {clock.Steady(), clock.Wall()}; }
};

struct TrackerOptions {
  Duration poll_interval = std::chrono::seconds(30);
  Duration terminal_recheck_interval = std::chrono::minutes(10);
  Duration active_refresh_interval = std::chrono::minutes(5);  // 0: every round, at urgent priority
  int shard = 0;
  int total_shards = 1;
  long list_page_size = 100;
  // When set, jobs are rendered as they arrive and only their summary is kept; else rendering happens at scrape.
  JobRenderHook render_job = nullptr;
  // A reload changed how jobs are rendered: carried-over details are fetched again (in the background).
  bool rerender_carried_jobs = false;
  // A discovered job's series go this long after it finished (its status_last_updated_at); 0: never.
  Duration finished_job_retention = std::chrono::hours(72);
  // History starts here for projects the carried history does not know (the process's start).
  WallTime started_at{};
  // Report failing nodes (and keep the ids of failed targets to tell new failures from known ones).
  bool count_node_failures = false;
};

// A list summary that keeps differing from the details after this many fetches is left to the refresh schedule:
// a list and a detail answer that disagree for good must not cost a call every round.
inline constexpr int kMaxFetchesPerListing = 2;
// A finished job whose details still lag behind the finish its list shows owes its final task count: it is read
// again this many times at urgent priority (after 1, 2, 4, 8 poll intervals), then on the refresh schedule.
inline constexpr int kMaxFinalTasksRereads = 4;

// A job that keeps failing is skipped for 1, then 3 rounds (at most this many) before it is asked again.
inline constexpr int kMaxSkippedRounds = 3;

// How long the history of a job no longer tracked is remembered (and of a project no longer configured), and for
// how many jobs at most: one that comes back (a walk skipped it, a transient 404, a filter or a config changed and
// changed back) is not counted again. A few hundred bytes a job.
inline constexpr Duration kRememberDroppedFor = std::chrono::hours(72);
inline constexpr size_t kMaxRememberedDropped = 100000;

class JobTracker {
 public:
  using JobKey = FetchQueue::Key;

  // `previous`: the last snapshot of the poller this one replaces (a reload), whose jobs carry on without a gap.
  // `history`: what was counted before (a reload's or the state file's); projects it does not know start now.
  JobTracker(TrackerOptions options, std::vector<TrackedProject> projects, const Snapshot* previous,
             HistoryState history, Moment now);
  ~JobTracker();
  JobTracker(const JobTracker&) = delete;
  JobTracker& operator=(const JobTracker&) = delete;

  // ---- A round ----
  // How a project's list is read. Every walk asks for the newest jobs first (sort=created_at:desc).
  enum class WalkKind {
    kFull,      // the whole list at once: the first listing, a changed filter, an untrusted order, no list head
    kHead,      // from the newest down to the oldest job still followed from the list (HeadHorizon)
    kFullStep,  // a few pages of a walk of the whole list, spread over the rounds of full_walk_interval
  };
  struct ListPlan {
    size_t project_index = 0;
    std::shared_ptr<const ProjectContext> context;
    WalkKind kind = WalkKind::kFull;
    WalkBounds bounds;
  };
  // Starts a round: the lists due now, in order (kFull or kHead; a kFullStep follows a head, see NextFullWalkStep).
  std::vector<ListPlan> StartRound(Moment now);
  std::shared_ptr<const ProjectContext> Context(size_t project_index) const;
  // A walk (or its failure) and what it met.
  void ApplyListing(const ListPlan& plan, const Fetched<BatchJobList>& listing, const ListWalk& walk, Moment now);
  // After a head walk: the next step of the project's walk of the whole list, when one is under way or due.
  std::optional<ListPlan> NextFullWalkStep(size_t project_index, Moment now);
  // Queues the details worth a call now; jobs the list confirms count as freshly looked at.
  void QueueDueFetches(Moment now);
  void FinishRound(double seconds, bool overran);

  // ---- Details ----
  struct FetchTicket {
    JobKey key;
    FetchReason reason;
    std::shared_ptr<const ProjectContext> project;
  };
  // The next fetch that `admit` lets go (urgent work first, see FetchQueue), marked in flight. Background work is
  // admitted per project: once `admit` refuses a project's, that project's other background work is not offered
  // again in this call.
  std::optional<FetchTicket> NextFetch(const std::function<bool(const ProjectContext&, FetchReason)>& admit);
  // What a worker made of a job's details before handing them in: its text and its tasks' tally.
  struct Digest {
    std::shared_ptr<const RenderedJob> rendered;
    std::shared_ptr<const TaskTally> tally;
  };
  void ApplyDetails(const FetchTicket& ticket, const Fetched<BatchJob>& result, Digest digest, Moment now);

  // ---- Outputs ----
  std::shared_ptr<Snapshot> MakeSnapshot() const;
  // Transitions decided since the last call, in order.
  std::vector<Transition> TakeTransitions() { return std::exchange(transitions_, {}); }
  bool HasTransitions() const { return !transitions_.empty(); }
  // Everything counted so far, for the next tracker or the state file.
  HistoryState History() const;
  // Grows whenever what History() says of jobs changes: worth saving soon.
  uint64_t history_version() const { return history_version_; }
  // Grows when only a project's watermark moved: worth saving now and then (an older one only makes a restart
  // judge jobs it never saw against an earlier point).
  uint64_t watermark_version() const { return watermark_version_; }

  size_t urgent_pending() const { return queue_.urgent() + urgent_in_flight_; }
  bool idle() const { return queue_.empty() && in_flight_ == 0; }

 private:
  struct Job;
  struct Project;
  struct Dropped {
    JobHistory history;
    SteadyTime dropped_at;
  };
  using JobMap = std::map<JobKey, Job>;

  Job& AddJob(size_t project_index, const std::string& job_id, JobSource source);
  void AdoptHistory(HistoryState history, Moment now);
  void SeedFrom(const Snapshot& previous, Moment now);
  void ForgetUnclaimedHistory(size_t project_index, Moment now);
  bool ListDue(const Project& project, SteadyTime now) const;
  WalkKind NextWalkKind(const Project& project) const;
  std::optional<int64_t> HeadHorizon(size_t project_index, Moment now) const;
  std::optional<int64_t> NewestKnownCreated(size_t project_index) const;
  long SpreadStepPages(const Project& project) const;
  void CompleteFullWalk(size_t project_index, const std::set<std::string>& shown, const std::set<std::string>& matched,
                        WalkKind kind, Moment now);
  void NoteFullWalkProgress(Project& project, const BatchJobList& listing, const ListPlan& plan, const ListWalk& walk);

  // Lists.
  void TrackListedJob(size_t project_index, const BatchJob& summary, std::set<std::string>& matched, Moment now);
  bool LogInvalidId(Project& project, const std::string& job_id);
  void DropUnlisted(size_t project_index, const std::set<std::string>& shown, const std::set<std::string>& matched,
                    Moment now);
  void ConfirmHiddenInHead(size_t project_index, const std::set<std::string>& shown, int64_t newer_than, Moment now);
  void ConfirmOrDrop(JobMap::iterator job, Moment now);
  void ExpireUnlisted(Job& job, Moment now);
  void ShowListedValues(Job& job, const BatchJob& summary, Moment now);
  void KeepListedSummary(Job& job, const BatchJob& summary);
  bool FinishedLongAgo(const BatchJob& summary, Moment now) const;
  void SetExpired(Job& job, bool expired);
  void AdvanceWatermark(Project& project, const std::optional<int64_t>& api_time, Moment now);

  // What to fetch.
  std::optional<FetchReason> NeedsFetch(Job& job, SteadyTime now) const;
  std::optional<FetchReason> RefreshIfDue(const Job& job, std::string_view status, SteadyTime now) const;
  std::optional<FetchReason> RefreshDue(const Job& job, SteadyTime now) const;
  bool DetailsBehindList(const Job& job) const;
  std::optional<FetchReason> LaggingDetailsDue(const Job& job, SteadyTime now) const;
  bool FinalTasksOwed(const Job& job) const;
  static bool ShowsFinish(const BatchJob& details, int64_t finished_at);
  static bool ListShowsMoreFinishedTasks(const Job& job);
  bool ListConfirmsDetails(const Job& job) const;

  // Details.
  void ShowDetails(Job& job, const BatchJob& details, Digest digest, Moment now);
  void RecordOutcome(Job& job, const Fetched<BatchJob>& result);

  // History.
  void Count(Job& job, const BatchJob& view, ViewSource source);
  CountContext ContextFor(const Job& job, const BatchJob& view) const;
  bool TasksAreNews(const Job& job, std::optional<int64_t> created_at) const;
  // What the API dates at or before this happened before history counted the job (JobHistory::news_after).
  int64_t NewsAfter(const Job& job) const;
  void Report(const std::string& project_id, TransitionEvent event);

  void DropDiscovered(JobMap::iterator job, Moment now);
  // Keeps a history no tracked job holds for kRememberDroppedFor, while fewer than kMaxRememberedDropped are kept.
  void RememberDropped(const JobKey& key, JobHistory history, SteadyTime now);
  void ForgetDroppedLongAgo(SteadyTime now);
  void EraseJob(JobMap::iterator job);

  TrackerOptions options_;
  std::vector<Project> projects_;
  JobMap jobs_;  // sorted, so snapshots come out in a stable order
  // History of jobs no tracked job holds: dropped lately (forgotten after kRememberDroppedFor), or carried over and
  // not claimed yet (kept until the project's first listing shows whether the job is still there).
  std::map<JobKey, Dropped> dropped_;
  std::map<JobKey, JobHistory> unclaimed_;
  // Projects the history knows and the config no longer lists: kept (as long as dropped jobs) for their return.
  struct Retired {
    ProjectHistory history;
    SteadyTime retired_at;
  };
  std::map<std::string, Retired> retired_projects_;
  FetchQueue queue_;
  size_t in_flight_ = 0;
  size_t urgent_in_flight_ = 0;
  double last_round_seconds_ = 0;
  bool has_completed_round_ = false;
  uint64_t rounds_overrun_ = 0;
  std::vector<Transition> transitions_;
  uint64_t history_version_ = 0;
  uint64_t watermark_version_ = 0;
};

}  // namespace ief
