#include "poll/history.h"

#include <algorithm>
#include <climits>

namespace ief {
namespace {

// Lifecycle order: a move forward is news even within the API's one-second resolution.
int LifecycleRank(std::string_view status) {
  const JobStatus parsed = ParseJobStatus(status);
  if (parsed == JobStatus::kWaiting) return 0;
  if (IsFinished(parsed)) return 2;
  return 1;  // Running, Stopping, and statuses the documentation does not list
}

bool Plausible(double seconds) { return seconds >= 0 && seconds <= kMaxPlausibleDurationSeconds; }

class Reporter {
 public:
  Reporter(const CountContext& context, std::vector<Transition>& out) : context_(context), out_(out) {}
  void Report(TransitionEvent event) {
    out_.push_back({std::string(context_.project_id), std::string(context_.job_id), std::string(context_.job_type),
                    std::move(event)});
  }
  void Finished(const StatusView& view) {
    std::optional<double> duration = SecondsBetween(view.created_at, view.updated_at);
    if (duration && !Plausible(*duration)) {
      Report(transition::ImplausibleDuration{});
      duration.reset();
    }
    Report(transition::Finished{view.status, duration});
  }
  void Started(const StatusView& view) {
    std::optional<double> wait = SecondsBetween(view.created_at, view.updated_at);
    if (!wait) return;
    if (!Plausible(*wait)) {
      Report(transition::ImplausibleDuration{});
      return;
    }
    Report(transition::Started{*wait});
  }

 private:
  const CountContext& context_;
  std::vector<Transition>& out_;
};

// A job seen for the first time: only what happened after history started is news.
void CountFirstView(const StatusView& view, const CountContext& context, Reporter& reporter) {
  if (!view.updated_at || *view.updated_at <= context.first_views_after) return;
  if (IsFinishedStatus(view.status)) reporter.Finished(view);
  if (ParseJobStatus(view.status) == JobStatus::kRunning) reporter.Started(view);
}

// After an end, the same end or the job at work again with a time only a little newer: the API's clock wavering (a
// finish whose time moved back past the job's running phase makes a lagging copy of the job at work look newer),
// not a job retried. Such a view changes nothing, not even the time counted, so that small moves cannot add up. An
// end with another status is news at any distance: a retry that ended differently.
bool Wavers(const StatusView& before, const StatusView& after) {
  if (!IsFinishedStatus(before.status)) return false;
  if (IsFinishedStatus(after.status) && before.status != after.status) return false;
  const std::optional<double> moved = SecondsBetween(before.updated_at, after.updated_at);
  return moved && *moved < static_cast<double>(kMinRetrySeconds);
}

// A move the API dates at or before the point from which this job's history counts: it happened before anyone
// counted the job (a first look through a lagging copy, then the real state), so it is known, not news. Not so for
// the end of a job seen at work after that point: an end follows the work, whatever its clock says (EndsJustBefore).
bool HappenedBeforeHistory(const JobHistory& history, const StatusView& view) {
  if (!history.news_after || !view.updated_at || *view.updated_at > *history.news_after) return false;
  const StatusView& counted = *history.counted;
  const bool at_work_since = IsActiveStatus(counted.status) && counted.updated_at && *counted.updated_at > *history.news_after;
  return !at_work_since;
}

// A move from `before` to a newer `after`. Returns whether it was a retry.
bool CountMove(const StatusView& before, const StatusView& after, Reporter& reporter) {
  const bool finished = IsFinishedStatus(after.status);
  // Back to work; or finished again (differently, or later): retried and finished between two looks.
  const bool retried = IsFinishedStatus(before.status) && (IsActiveStatus(after.status) || finished);
  if (retried) reporter.Report(transition::Retried{});
  if (finished) reporter.Finished(after);
  if (ParseJobStatus(before.status) == JobStatus::kWaiting && ParseJobStatus(after.status) == JobStatus::kRunning) {
    reporter.Started(after);
  }
  return retried;
}

}  // namespace

std::string_view ViewSourceName(ViewSource source) {
  switch (source) {
    case ViewSource::kList: return "list";
    case ViewSource::kDetails: return "details";
    case ViewSource::kStored: return "stored";
  }
  return "unknown";
}

StatusView StatusView::Of(const BatchJob& job, ViewSource source) {
  return {job.status, job.status_last_updated_at, job.created_at, source};
}

ViewOrder CompareViews(const StatusView& counted, const StatusView& view) {
  if (counted.created_at && view.created_at && *counted.created_at != *view.created_at) {
    return *view.created_at > *counted.created_at ? ViewOrder::kRecreated : ViewOrder::kStale;
  }
  const bool timed = counted.updated_at && view.updated_at;
  if (timed && *view.updated_at < *counted.updated_at) return ViewOrder::kStale;
  if (timed && *view.updated_at > *counted.updated_at) return ViewOrder::kNewer;
  // The same time, or no time to tell: the same status is nothing new, a move forward in the lifecycle is, and
  // anything else (a retry included) cannot be told from a lagging answer.
  if (view.status == counted.status) return ViewOrder::kSame;
  return LifecycleRank(view.status) > LifecycleRank(counted.status) ? ViewOrder::kNewer : ViewOrder::kConflict;
}

std::optional<double> SecondsBetween(std::optional<int64_t> earlier, std::optional<int64_t> later) {
  if (!earlier || !later) return std::nullopt;
  return static_cast<double>(*later) - static_cast<double>(*earlier);
}

bool IsNewerView(const BatchJob& than, const BatchJob& view) {
  const ViewOrder order = CompareViews(StatusView::Of(than, ViewSource::kList), StatusView::Of(view, ViewSource::kList));
  return order == ViewOrder::kNewer || order == ViewOrder::kRecreated;
}

bool EndsJustBefore(const StatusView& at_work, const StatusView& end) {
  if (!IsActiveStatus(at_work.status) || !IsFinishedStatus(end.status)) return false;
  if (at_work.created_at && end.created_at && *at_work.created_at != *end.created_at) return false;
  const std::optional<double> back = SecondsBetween(end.updated_at, at_work.updated_at);
  return back && *back < static_cast<double>(kMinRetrySeconds);
}

ViewOrder CountStatus(JobHistory& history, const StatusView& view, const CountContext& context,
                      std::vector<Transition>& out) {
  Reporter reporter(context, out);
  if (!history.counted) {
    history.counted = view;
    history.news_after = context.first_views_after;
    CountFirstView(view, context, reporter);
    return ViewOrder::kNewer;
  }
  ViewOrder order = CompareViews(*history.counted, view);
  if (order == ViewOrder::kStale && EndsJustBefore(*history.counted, view)) order = ViewOrder::kNewer;
  switch (order) {
    case ViewOrder::kSame:
      if (!history.counted->updated_at && view.updated_at) history.counted = view;  // now with the API's time
      break;
    case ViewOrder::kStale:
    case ViewOrder::kConflict:
      reporter.Report(transition::StaleAnswer{view.source});
      break;
    case ViewOrder::kRecreated:
      // A new job: all its tasks are news.
      history = JobHistory{.counted = view, .tasks_from_zero = true, .news_after = context.first_views_after};
      CountFirstView(view, context, reporter);
      break;
    case ViewOrder::kNewer:
      if (Wavers(*history.counted, view)) break;
      if (HappenedBeforeHistory(history, view)) {
        history.counted = view;
        break;
      }
      // Retried tasks may finish again: the next details count failed ones afresh.
      if (CountMove(*history.counted, view, reporter) && history.tasks) {
        history.tasks->retried_at = view.updated_at.value_or(0);
      }
      history.counted = view;
      break;
  }
  return order;
}

bool IsRetriedTaskStatus(std::string_view status) {
  const JobStatus parsed = ParseJobStatus(status);
  return IsFinished(parsed) && !IsSuccess(parsed);
}

namespace {

// The baseline new details are counted against; none for a lagging answer (older than the baseline).
// After a retry, the tasks that had not succeeded are run again. Details of the job still at work show some of
// them as they ended before: those ends are the baseline. Details of a job that finished again (retried and
// finished between two looks) show only new ends: every failed one counts.
std::optional<TaskBaseline> BaselineFor(const TaskBaseline& before, const TaskView& view) {
  if (before.job_updated_at && view.job_updated_at && *view.job_updated_at < *before.job_updated_at) {
    // The final details of a job whose finish the API dates a little before its work (EndsJustBefore) still count:
    // without a retry (none within that minute), a baseline only grows.
    const bool final_details = IsFinishedStatus(view.job_status) && !before.retried_at &&
                               *SecondsBetween(view.job_updated_at, before.job_updated_at) < kMinRetrySeconds;
    if (!final_details) return std::nullopt;
  }
  TaskBaseline baseline = before;
  if (!before.retried_at || (view.job_updated_at && *view.job_updated_at < *before.retried_at)) return baseline;
  baseline.retried_at.reset();
  std::erase_if(baseline.finished, [](const auto& entry) { return IsRetriedTaskStatus(entry.first.first); });
  if (baseline.failed_targets) baseline.failed_targets->clear();
  if (IsActiveStatus(view.job_status)) {
    for (const auto& [key, count] : view.tally.by_status_and_class) {
      if (IsRetriedTaskStatus(key.first)) baseline.finished[key] = count;
    }
    if (baseline.failed_targets) baseline.failed_targets = view.tally.failed_targets;
  }
  return baseline;
}

}  // namespace

void CountTasks(JobHistory& history, const TaskView& view, TaskCounting counting, const CountContext& context,
                std::vector<Transition>& out) {
  Reporter reporter(context, out);
  const TaskTally& tally = view.tally;
  const std::optional<int64_t>& job_updated_at = view.job_updated_at;
  const bool first = !history.tasks;
  // Without a baseline: from zero when the tasks are news, else a baseline that counts nothing.
  TaskBaseline zero{.failed_targets = std::vector<std::string>{}};
  std::optional<TaskBaseline> baseline = first ? std::optional<TaskBaseline>(zero) : BaselineFor(*history.tasks, view);
  if (!baseline) return;  // stale details
  const bool silent = first && !counting.count_first;

  TaskBaseline after = *baseline;
  if (job_updated_at && (!after.job_updated_at || *job_updated_at > *after.job_updated_at)) {
    after.job_updated_at = job_updated_at;
  }
  for (const auto& [key, count] : tally.by_status_and_class) {
    if (!IsFinishedStatus(key.first)) continue;
    int64_t& kept = after.finished[key];
    if (count > kept && !silent) reporter.Report(transition::TasksFinished{key.first, key.second, count - kept});
    kept = std::max(kept, count);
  }
  if (!counting.count_nodes) {
    after.failed_targets.reset();  // unknown from here on: the next details counted with nodes are a baseline
  } else if (!after.failed_targets) {
    after.failed_targets = tally.failed_targets;
  } else {
    for (const std::string& target : tally.failed_targets) {
      if (!silent && !std::binary_search(after.failed_targets->begin(), after.failed_targets->end(), target)) {
        reporter.Report(transition::NodeTaskFailed{target});
      }
    }
    std::vector<std::string> merged;
    std::set_union(after.failed_targets->begin(), after.failed_targets->end(), tally.failed_targets.begin(),
                   tally.failed_targets.end(), std::back_inserter(merged));
    merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
    after.failed_targets = std::move(merged);
  }
  history.tasks = std::move(after);
  history.tasks_from_zero = false;
}

HistoryState ResumeAfterRestart(HistoryState stored) {
  for (auto& [project_id, project] : stored.projects) {
    // The watermark's own second is included: the API's clock has whole seconds, and a job may have changed in that
    // second after the state was saved.
    project.first_views_after = std::max({project.first_views_after, project.watermark - 1, project.since - 1});
  }
  return stored;
}

int64_t FinishedTasks(const TaskBaseline& tasks) {
  int64_t total = 0;
  // Saturating: the counts are never negative, but a state file may hold any size (hostile input).
  for (const auto& [key, count] : tasks.finished) total = count > INT64_MAX - total ? INT64_MAX : total + count;
  return total;
}

bool KnowsMore(const JobHistory& theirs, const JobHistory& ours) {
  if (!theirs.counted) return false;
  if (!ours.counted) return true;
  const ViewOrder order = CompareViews(*ours.counted, *theirs.counted);
  if (order == ViewOrder::kNewer || order == ViewOrder::kRecreated) return true;
  if (order != ViewOrder::kSame || !theirs.tasks) return false;
  if (!ours.tasks) return true;
  // The same view of the job: the tasks counted further. A running job's time does not move while its tasks end,
  // and within one run of the job (the same view) a baseline only grows.
  const int64_t their_time = theirs.tasks->job_updated_at.value_or(INT64_MIN);
  const int64_t our_time = ours.tasks->job_updated_at.value_or(INT64_MIN);
  if (their_time != our_time) return their_time > our_time;
  return FinishedTasks(*theirs.tasks) > FinishedTasks(*ours.tasks);
}

void StartWhereSiblingsGot(HistoryState& own, const std::vector<HistoryState>& siblings) {
  std::map<std::string, ProjectHistory> earliest;
  for (const HistoryState& sibling : siblings) {
    for (const auto& [project_id, theirs] : sibling.projects) {
      if (own.projects.contains(project_id)) continue;
      auto [it, first] = earliest.try_emplace(project_id, ProjectHistory{.since = theirs.since,
                                                                          .first_views_after = theirs.first_views_after,
                                                                          .watermark = theirs.watermark});
      if (first) continue;
      it->second.since = std::min(it->second.since, theirs.since);
      it->second.first_views_after = std::min(it->second.first_views_after, theirs.first_views_after);
      it->second.watermark = std::min(it->second.watermark, theirs.watermark);
    }
  }
  own.projects.merge(earliest);
}

size_t AdoptMovedJobs(HistoryState& own, const std::vector<HistoryState>& siblings,
                      const std::function<bool(std::string_view job_id)>& mine, int64_t started) {
  size_t taken = 0;
  for (const HistoryState& sibling : siblings) {
    for (const auto& [project_id, theirs] : sibling.projects) {
      for (const auto& [job_id, history] : theirs.jobs) {
        if (!mine(job_id)) continue;
        auto [project, first] = own.projects.try_emplace(project_id);
        if (first) {
          project->second = ProjectHistory{.since = started, .first_views_after = started - 1, .watermark = started};
        }
        auto [known, added] = project->second.jobs.try_emplace(job_id, history);
        if (added) {
          ++taken;
        } else if (KnowsMore(history, known->second)) {
          known->second = history;
          ++taken;
        }
      }
    }
  }
  return taken;
}

void Deliver(const Transition& transition, PollObserver& observer) {
  const JobLabels labels{transition.project_id, transition.job_type};
  std::visit(
      [&](const auto& event) {
        using T = std::decay_t<decltype(event)>;
        if constexpr (std::is_same_v<T, transition::Seen>) {
          observer.OnJobSeen(labels);
        } else if constexpr (std::is_same_v<T, transition::Finished>) {
          observer.OnJobFinished(labels, event.status, event.duration_seconds);
        } else if constexpr (std::is_same_v<T, transition::Retried>) {
          observer.OnJobRetried(labels);
        } else if constexpr (std::is_same_v<T, transition::Started>) {
          observer.OnJobStarted(labels, event.wait_seconds);
        } else if constexpr (std::is_same_v<T, transition::TasksFinished>) {
          observer.OnTasksFinished(labels, event.status, event.reason_class, event.count);
        } else if constexpr (std::is_same_v<T, transition::NodeTaskFailed>) {
          observer.OnNodeTaskFailed(labels, event.target_id);
        } else if constexpr (std::is_same_v<T, transition::ImplausibleDuration>) {
          observer.OnImplausibleDuration(labels);
        } else if constexpr (std::is_same_v<T, transition::StaleAnswer>) {
          observer.OnStaleAnswer(labels, ViewSourceName(event.source));
        } else if constexpr (std::is_same_v<T, transition::InvalidJobId>) {
          observer.OnInvalidJobId(transition.project_id);
        }
      },
      transition.event);
}

std::string Describe(const Transition& transition) {
  return std::visit(
      [](const auto& event) -> std::string {
        using T = std::decay_t<decltype(event)>;
        if constexpr (std::is_same_v<T, transition::Seen>) {
          return "seen";
        } else if constexpr (std::is_same_v<T, transition::Finished>) {
          return "finished " + event.status + " " +
                 (event.duration_seconds ? std::to_string(static_cast<long long>(*event.duration_seconds)) : "-");
        } else if constexpr (std::is_same_v<T, transition::Retried>) {
          return "retried";
        } else if constexpr (std::is_same_v<T, transition::Started>) {
          return "started " + std::to_string(static_cast<long long>(event.wait_seconds));
        } else if constexpr (std::is_same_v<T, transition::TasksFinished>) {
          return "tasks " + event.status + " " + event.reason_class + " " + std::to_string(event.count);
        } else if constexpr (std::is_same_v<T, transition::NodeTaskFailed>) {
          return "node " + event.target_id;
        } else if constexpr (std::is_same_v<T, transition::ImplausibleDuration>) {
          return "implausible duration";
        } else if constexpr (std::is_same_v<T, transition::StaleAnswer>) {
          return "stale " + std::string(ViewSourceName(event.source));
        } else {
          return "invalid id";
        }
      },
      transition.event);
}

}  // namespace ief
