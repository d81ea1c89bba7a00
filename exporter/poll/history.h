// The counting rules: what a view of a job (a list item or a ShowBatchJob answer) means for the rollout history.
// Plain functions over plain state, with no threads, locks or clocks: JobTracker feeds them every view, in the
// order the answers arrive, and they decide in the API's own order (status_last_updated_at) what is news.
//
// The rules (README "Rollout history"):
// - A view older than the one counted (by status_last_updated_at) is stale: it never produces a transition.
//   At the same time, only a move forward in the lifecycle (Waiting, then Running or Stopping, then a terminal
//   status) counts; anything else is a contradiction and is ignored like a stale view. Without the API's clock on
//   both views, only a move forward counts too. A finish dated less than kMinRetrySeconds before the job was seen
//   at work is not stale: within one run an end follows the work (the clock wavered).
// - A job whose created_at changed was deleted and created again: a new job, not a retry.
// - A terminal status followed by an active one is a retry; so is one followed by another terminal status with a
//   newer time (a retry and a new finish between two looks). Either needs the time to move by at least
//   kMinRetrySeconds, unless the job ended with another status (less is the API's clock wavering, not a job run
//   again).
// - A job seen for the first time counts only what happened after history started: a start-up that lists old
//   finished jobs adds nothing, and after a restart only what happened after the stored watermark is news. Its later
//   moves count only when the API dates them after that point too (a first look may come through a lagging copy).
// - Durations outside [0, kMaxPlausibleDuration] are not observed; they are counted as implausible.
// - Tasks are counted from details only, against a baseline that never moves backwards (a lagging answer with
//   fewer finished tasks counts nothing and changes nothing), except after a retry: the failed ones were run
//   again, so what the next details show failed (or stopped, or timed out) counts again.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "model/job.h"
#include "poll/poll_observer.h"

namespace ief {

// Durations beyond this are taken for bad data (a timestamp in the year 2286), not observed.
inline constexpr int64_t kMaxPlausibleDurationSeconds = 90LL * 24 * 3600;
// A finished job seen at work again, or in the same terminal status, with a time this much newer was retried (and
// finished again between two looks); a smaller move is the API's clock wavering.
inline constexpr int64_t kMinRetrySeconds = 60;

// Where a view of a job came from.
enum class ViewSource {
  kList,     // a ListBatchJob item
  kDetails,  // a ShowBatchJob answer
  kStored,   // read back from the state file after a restart (what was counted before it)
};
std::string_view ViewSourceName(ViewSource source);  // "list", "details", "stored"

// What one view says of a job's life: enough to order views and to count transitions.
struct StatusView {
  std::string status;
  std::optional<int64_t> updated_at;  // status_last_updated_at: the API's own clock
  std::optional<int64_t> created_at;
  ViewSource source = ViewSource::kList;

  static StatusView Of(const BatchJob& job, ViewSource source);
  bool operator==(const StatusView&) const = default;
};

// How a new view relates to the one counted last.
enum class ViewOrder {
  kNewer,       // later by the API's clock, or a move forward in the lifecycle at the same time
  kSame,        // the same status at the same time (or no time to tell)
  kStale,       // older than what was counted
  kConflict,    // the same time, but a status that cannot follow the counted one
  kRecreated,   // a newer created_at: the job was deleted and created again under the same id
};
ViewOrder CompareViews(const StatusView& counted, const StatusView& view);
// `later - earlier` of two API timestamps (none when either is missing), in doubles: int64 values from the network
// could overflow a subtraction.
std::optional<double> SecondsBetween(std::optional<int64_t> earlier, std::optional<int64_t> later);
// Whether `view` of a job is newer than `than` (CompareViews): of two copies in one list walk, the newer one wins.
bool IsNewerView(const BatchJob& than, const BatchJob& view);
// A finish the API dates a little before the job was seen at work: within one run an end follows the work, so
// this is its clock wavering (the finish's time moved back past a short running phase), not a lagging answer.
bool EndsJustBefore(const StatusView& at_work, const StatusView& end);

// What a job's finished tasks added up to when they were counted last.
struct TaskBaseline {
  std::optional<int64_t> job_updated_at;  // the job's status_last_updated_at in the details counted
  std::map<std::pair<std::string, std::string>, int64_t> finished;  // (terminal status, reason class) -> tasks
  // Targets of the failed tasks, sorted; none while node failures are not counted (the next details counted with
  // them on are a baseline for them).
  std::optional<std::vector<std::string>> failed_targets;
  // A retry was counted at this API time: the first details at or after it count failed tasks afresh.
  std::optional<int64_t> retried_at;
  bool operator==(const TaskBaseline&) const = default;
};
// How many tasks the baseline holds finished, whatever their status (at most INT64_MAX).
int64_t FinishedTasks(const TaskBaseline& tasks);

// What was counted of one job: the state that reloads carry over and the state file keeps.
struct JobHistory {
  std::optional<StatusView> counted;  // the view the latest counted status came from
  std::optional<TaskBaseline> tasks;  // none before the first details counted
  // The job appeared while history was counted (or was created again): every task its first details show
  // finished is news, even if they come after a restart.
  bool tasks_from_zero = false;
  // What the API dates at or before this time happened before history counted the job: first_views_after when it
  // was first seen. None in state files of earlier versions (every move after the counted view is news).
  std::optional<int64_t> news_after;
  bool operator==(const JobHistory&) const = default;
};

// What the poller carries from one config to the next (a reload) and from one process to the next (the state file,
// history_file.h): per project, where history starts and how far the API's clock was seen, and what was counted
// of every job it knows.
struct ProjectHistory {
  int64_t since = 0;  // API time from which history is counted (the first start without a stored state)
  // A job seen for the first time counts what happened after this: the process's start, or after a restart the
  // watermark the stored history reached (what was seen before it is history already, counted or not news).
  int64_t first_views_after = 0;
  int64_t watermark = 0;  // the latest API time seen in the project (status_last_updated_at, created_at)
  std::map<std::string, JobHistory> jobs;  // by job id
  bool operator==(const ProjectHistory&) const = default;
};

struct HistoryState {
  int shard = 0;
  int total_shards = 1;
  std::map<std::string, ProjectHistory> projects;  // by project id
  bool operator==(const HistoryState&) const = default;
};

// The history a new process resumes from a state file: first views count only from the stored watermark's second on.
// A job the stored history does not know was never seen (created while the exporter was down, say), or was
// forgotten, or was counted by another replica before a resharding: only what happened since then can be news.
HistoryState ResumeAfterRestart(HistoryState stored);

// After a resharding (a changed --total-shards), the jobs that now belong to this replica (`mine`) take what other
// shards' state files (`siblings`, in the same directory) counted of them, where one knows more than `own` does:
// a job that moves keeps its history, neither lost nor counted again. A project `own` does not know starts at
// `started` (API seconds), as without a state file: only the jobs are taken from the siblings, whose own points may
// be long past (the file of a shard scaled away). Returns how many jobs' histories were taken.
size_t AdoptMovedJobs(HistoryState& own, const std::vector<HistoryState>& siblings,
                      const std::function<bool(std::string_view job_id)>& mine, int64_t started);
// A replica new to a shared storage directory (a resharding added it: no state file of its own yet) starts each
// project where the other shards' files had got to (the earliest of them): a job none of them knew was followed by
// nobody, and what happened to it after that point is news (created and finished while the replicas were down).
// Projects `own` knows keep their points.
void StartWhereSiblingsGot(HistoryState& own, const std::vector<HistoryState>& siblings);
// Whether `theirs` has counted more of a job than `ours` (a later status view; or the same one with later tasks, or
// more of them).
bool KnowsMore(const JobHistory& theirs, const JobHistory& ours);

// ---- Transitions: what the counting reports ----

namespace transition {
struct Seen {};  // first seen by this process: the counters of its type start at 0
struct Finished {
  std::string status;
  std::optional<double> duration_seconds;
};
struct Retried {};
struct Started {
  double wait_seconds;
};
struct TasksFinished {
  std::string status;
  std::string reason_class;
  int64_t count;
};
struct NodeTaskFailed {
  std::string target_id;
};
struct ImplausibleDuration {};
struct StaleAnswer {
  ViewSource source;
};
struct InvalidJobId {};
}  // namespace transition

using TransitionEvent =
    std::variant<transition::Seen, transition::Finished, transition::Retried, transition::Started,
                 transition::TasksFinished, transition::NodeTaskFailed, transition::ImplausibleDuration,
                 transition::StaleAnswer, transition::InvalidJobId>;

struct Transition {
  std::string project_id;
  std::string job_id;  // empty for what concerns a project (an invalid job id)
  std::string job_type;
  TransitionEvent event;
};

// Hands a transition to the observer method that takes it.
void Deliver(const Transition& transition, PollObserver& observer);
// One line per transition, for logs and tests: "finished Failed 300", "tasks Failed image_pull 2", "retried".
std::string Describe(const Transition& transition);

// ---- The rules ----

struct CountContext {
  std::string_view project_id;
  std::string_view job_id;
  std::string_view job_type;
  int64_t first_views_after = 0;  // first views count what happened after this API time (ProjectHistory)
};

// Counts what `view` tells after `history.counted`, moves `history` on and appends the transitions. Returns the
// order of the view relative to what was counted before (kNewer for a first view).
ViewOrder CountStatus(JobHistory& history, const StatusView& view, const CountContext& context,
                      std::vector<Transition>& out);

// What one ShowBatchJob answer says of a job's tasks.
struct TaskView {
  const TaskTally& tally;
  std::optional<int64_t> job_updated_at;  // the job's status_last_updated_at in the same answer
  std::string_view job_status;
};

// How CountTasks counts a job's tasks.
struct TaskCounting {
  // Without a baseline, the tasks are counted only when this is set (the job appeared after history started); else
  // they are the baseline.
  bool count_first = false;
  bool count_nodes = false;  // report failing nodes (and keep their ids)
};

// Counts the tasks of a job's details.
void CountTasks(JobHistory& history, const TaskView& view, TaskCounting counting, const CountContext& context,
                std::vector<Transition>& out);

// Successful and Partially_successful tasks stay done after a retry; the other terminal statuses are run again.
bool IsRetriedTaskStatus(std::string_view status);

}  // namespace ief
