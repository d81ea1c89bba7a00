#include "poll/history.h"

#include <algorithm>

namespace ief {
namespace {

// Lifecycle order: a move forward is news even within the API's one-second resolution.
int LifecycleRank(std::string_view status) {
  if (status == "Waiting") return 0;
  if (IsFinishedStatus(status)) return 2;
  return 1;  // Running, Stopping, and statuses the documentation does not list
}

// `later - earlier` of two API timestamps, in doubles: int64 values from the network could overflow a subtraction.
std::optional<double> SecondsBetween(std::optional<int64_t> earlier, std::optional<int64_t> later) {
  if (!earlier || !later) return std::nullopt;
  return static_cast<double>(*later) - static_cast<double>(*earlier);
}

bool Plausible(double seconds) { return seconds >= 0 && seconds <= kMaxPlausibleDurationSeconds; }

class Reporter {
 public:
  Reporter(const CountContext& context, std::vector<Transition>& out) : context_(context), out_(out) {}
  void Report(TransitionEvent event) {
    out_.push_back({std::string(context_.project_id), std::string(context_.job_type), std::move(event)});
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
  if (view.status == "Running") reporter.Started(view);
}

// A move from `before` to a newer `after`. Returns whether it was a retry.
bool CountMove(const StatusView& before, const StatusView& after, Reporter& reporter) {
  const bool finished = IsFinishedStatus(after.status);
  // Back to work; or finished again with a newer time: retried and finished between two looks.
  const bool retried = IsFinishedStatus(before.status) && (IsActiveStatus(after.status) || finished);
  if (retried) reporter.Report(transition::Retried{});
  if (finished) reporter.Finished(after);
  if (before.status == "Waiting" && after.status == "Running") reporter.Started(after);
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
  if (!counted.updated_at || !view.updated_at) {
    // Without the API's clock on both sides, every change of status counts.
    return counted.status == view.status ? ViewOrder::kSame : ViewOrder::kNewer;
  }
  if (*view.updated_at < *counted.updated_at) return ViewOrder::kStale;
  if (*view.updated_at > *counted.updated_at) return ViewOrder::kNewer;
  if (view.status == counted.status) return ViewOrder::kSame;
  return LifecycleRank(view.status) > LifecycleRank(counted.status) ? ViewOrder::kNewer : ViewOrder::kConflict;
}

ViewOrder CountStatus(JobHistory& history, const StatusView& view, const CountContext& context,
                      std::vector<Transition>& out) {
  Reporter reporter(context, out);
  if (!history.counted) {
    history.counted = view;
    CountFirstView(view, context, reporter);
    return ViewOrder::kNewer;
  }
  const ViewOrder order = CompareViews(*history.counted, view);
  switch (order) {
    case ViewOrder::kSame:
      if (!history.counted->updated_at) history.counted = view;  // no time before: keep the one this view has
      break;
    case ViewOrder::kStale:
    case ViewOrder::kConflict:
      reporter.Report(transition::StaleAnswer{view.source});
      break;
    case ViewOrder::kRecreated:
      history = JobHistory{.counted = view};
      CountFirstView(view, context, reporter);
      break;
    case ViewOrder::kNewer:
      // Retried tasks may finish again: the next details replace the task baseline instead of raising it.
      if (CountMove(*history.counted, view, reporter) && history.tasks) {
        history.tasks->replace_from = view.updated_at.value_or(0);
      }
      history.counted = view;
      break;
  }
  return order;
}

void CountTasks(JobHistory& history, const TaskTally& tally, std::optional<int64_t> job_updated_at, bool count_first,
                bool count_nodes, const CountContext& context, std::vector<Transition>& out) {
  Reporter reporter(context, out);
  TaskBaseline empty;
  const bool first = !history.tasks;
  if (first && !count_first) {
    // A baseline: these tasks finished before history started here.
    history.tasks = TaskBaseline{.job_updated_at = job_updated_at};
    for (const auto& [key, count] : tally.by_status_and_class) {
      if (IsFinishedStatus(key.first)) history.tasks->finished[key] = count;
    }
    if (count_nodes) history.tasks->failed_targets = tally.failed_targets;
    return;
  }
  TaskBaseline& before = first ? empty : *history.tasks;
  if (before.job_updated_at && job_updated_at && *job_updated_at < *before.job_updated_at) return;  // stale details
  const bool replace = before.replace_from && (!job_updated_at || *job_updated_at >= *before.replace_from);

  TaskBaseline after{.job_updated_at = job_updated_at ? job_updated_at : before.job_updated_at};
  if (!replace) {
    after.finished = before.finished;
    after.failed_targets = before.failed_targets;
    after.replace_from = before.replace_from;
    if (before.job_updated_at && job_updated_at) {
      after.job_updated_at = std::max(*before.job_updated_at, *job_updated_at);
    }
  }
  for (const auto& [key, count] : tally.by_status_and_class) {
    if (!IsFinishedStatus(key.first)) continue;
    auto earlier = before.finished.find(key);
    const int64_t counted = earlier == before.finished.end() ? 0 : earlier->second;
    if (count > counted) reporter.Report(transition::TasksFinished{key.first, key.second, count - counted});
    int64_t& kept = after.finished[key];
    kept = replace ? count : std::max(kept, count);
  }
  if (count_nodes) {
    std::vector<std::string> merged;
    for (const std::string& target : tally.failed_targets) {
      if (!std::binary_search(before.failed_targets.begin(), before.failed_targets.end(), target)) {
        reporter.Report(transition::NodeTaskFailed{target});
      }
    }
    if (replace) {
      after.failed_targets = tally.failed_targets;
    } else {
      std::set_union(before.failed_targets.begin(), before.failed_targets.end(), tally.failed_targets.begin(),
                     tally.failed_targets.end(), std::back_inserter(merged));
      merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
      after.failed_targets = std::move(merged);
    }
  } else {
    after.failed_targets.clear();
  }
  history.tasks = std::move(after);
}

HistoryState ResumeAfterRestart(HistoryState stored) {
  for (auto& [project_id, project] : stored.projects) {
    // The watermark's own second is included: the API's clock has whole seconds, and a job may have changed in that
    // second after the state was saved.
    project.first_views_after = std::max({project.first_views_after, project.watermark - 1, project.since});
  }
  return stored;
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
        } else if constexpr (std::is_same_v<T, transition::DuplicateListing>) {
          observer.OnDuplicateListing(transition.project_id);
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
        } else if constexpr (std::is_same_v<T, transition::DuplicateListing>) {
          return "duplicate";
        } else {
          return "invalid id";
        }
      },
      transition.event);
}

}  // namespace ief
