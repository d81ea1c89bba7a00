#include "metrics/snapshot_collector.h"

#include <algorithm>
#include <map>
#include <set>

#include "util/log.h"
#include "util/text.h"

namespace ief {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// The families in CONTRACT.md order; Family() returns one by enum so each is filled in a single pass.
enum FamilyId {
  kJobInfo, kJobStatus, kTasks, kTasksSucceeded, kTasksFailed, kTasksByStatus, kCreated, kStatusUpdated,
  kTaskInfo, kTaskCreated, kTaskFailureInfo, kTargetInfo, kScrapeSuccess, kLastSuccess,
  kUp, kTrackedJobs, kRoundDuration, kRoundsOverrun, kFamilyCount
};

struct FamilySpec {
  const char* name;
  const char* help;
  MetricType type;
};

constexpr FamilySpec kFamilies[kFamilyCount] = {
    {"ief_batch_job_info", "Batch job identity; names live only here.", MetricType::Gauge},
    {"ief_batch_job_status", "Batch job status, one series per status, 1 on the current one.", MetricType::Gauge},
    {"ief_batch_job_tasks", "task_total_count as the API reports it.", MetricType::Gauge},
    {"ief_batch_job_tasks_succeeded", "task_success_count as the API reports it.", MetricType::Gauge},
    {"ief_batch_job_tasks_failed", "task_failed_count as the API reports it.", MetricType::Gauge},
    {"ief_batch_job_tasks_by_status", "Tasks in tasks[] counted by their status.", MetricType::Gauge},
    {"ief_batch_job_created_timestamp_seconds", "When the batch job was created.", MetricType::Gauge},
    {"ief_batch_job_status_updated_timestamp_seconds", "When the batch job status last changed.", MetricType::Gauge},
    {"ief_batch_job_task_info", "One series per task of a batch job.", MetricType::Gauge},
    {"ief_batch_job_task_created_timestamp_seconds", "When the task was created.", MetricType::Gauge},
    {"ief_batch_job_task_failure_info", "Failure reason of a task, cut to 128 characters.", MetricType::Gauge},
    {"ief_batch_job_target_info", "One series per target of a batch job.", MetricType::Gauge},
    {"ief_batch_job_scrape_success", "1 if the latest fetch of this batch job succeeded.", MetricType::Gauge},
    {"ief_batch_job_last_success_timestamp_seconds", "When this batch job was last fetched successfully.",
     MetricType::Gauge},
    {"ief_up", "1 if the latest request to this project's IEF API got a valid answer.", MetricType::Gauge},
    {"ief_tracked_jobs", "Batch jobs tracked, by where they came from and whether they finished.", MetricType::Gauge},
    {"ief_poll_round_duration_seconds", "How long the latest poll round took.", MetricType::Gauge},
    {"ief_poll_rounds_overrun_total", "Poll rounds that did not finish within the poll interval.",
     MetricType::Counter},
};

class FamilyBuilder {
 public:
  FamilyBuilder() {
    for (int i = 0; i < kFamilyCount; ++i) {
      families_[i].name = kFamilies[i].name;
      families_[i].help = kFamilies[i].help;
      families_[i].type = kFamilies[i].type;
    }
  }

  void Add(FamilyId id, Labels labels, double value) {
    ClientMetric metric;
    metric.label = std::move(labels);
    if (kFamilies[id].type == MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    families_[id].metric.push_back(std::move(metric));
  }

  // Families with no series are left out, as client libraries do.
  std::vector<MetricFamily> Finish() {
    std::vector<MetricFamily> out;
    for (MetricFamily& family : families_) {
      if (!family.metric.empty()) out.push_back(std::move(family));
    }
    return out;
  }

 private:
  MetricFamily families_[kFamilyCount];
};

Labels JobLabels(const JobSnapshot& job) { return {{"project_id", job.project_id}, {"job_id", job.job_id}}; }

Labels With(Labels base, std::initializer_list<ClientMetric::Label> extra) {
  base.insert(base.end(), extra.begin(), extra.end());
  return base;
}

void AddOptional(FamilyBuilder& out, FamilyId id, const Labels& labels, const std::optional<int64_t>& value) {
  if (value) out.Add(id, labels, static_cast<double>(*value));
}

// One-hot status: every documented status, plus the current one if the API invented a new one.
void AddStatus(FamilyBuilder& out, const Labels& labels, const std::string& status) {
  bool documented = false;
  for (const char* known : kDocumentedJobStatuses) {
    documented |= status == known;
    out.Add(kJobStatus, With(labels, {{"status", known}}), status == known ? 1 : 0);
  }
  if (!documented) out.Add(kJobStatus, With(labels, {{"status", status}}), 1);
}

// Tasks counted by status: documented statuses always present (0 when none), others as they come.
void AddTasksByStatus(FamilyBuilder& out, const Labels& labels, const BatchJob& job) {
  std::map<std::string, int64_t> counts;
  for (const char* known : kDocumentedJobStatuses) counts[known] = 0;
  for (const BatchTask& task : job.tasks) ++counts[task.status];
  std::vector<std::string> order(std::begin(kDocumentedJobStatuses), std::end(kDocumentedJobStatuses));
  for (const auto& [status, count] : counts) {
    if (std::find(order.begin(), order.end(), status) == order.end()) order.push_back(status);
  }
  for (const std::string& status : order) {
    out.Add(kTasksByStatus, With(labels, {{"status", status}}), static_cast<double>(counts[status]));
  }
}

// Per-task and per-target series, at most `max` of each, skipping repeated ids (duplicate series would make
// Prometheus reject the whole scrape).
void AddTaskSeries(FamilyBuilder& out, const Labels& labels, const BatchJob& job, size_t max) {
  std::set<std::string_view> seen_tasks;
  for (const BatchTask& task : job.tasks) {
    if (seen_tasks.size() >= max) break;
    if (!seen_tasks.insert(task.task_id).second) continue;
    Labels task_labels = With(labels, {{"task_id", task.task_id}});
    out.Add(kTaskInfo,
            With(task_labels, {{"task_name", task.task_name}, {"target_id", task.target_id}, {"status", task.status}}),
            1);
    AddOptional(out, kTaskCreated, task_labels, task.created_at);
    if (!task.reason.empty()) {
      out.Add(kTaskFailureInfo, With(task_labels, {{"reason", TruncateUtf8(task.reason, kMaxReasonChars)}}), 1);
    }
  }
  std::set<std::string_view> seen_targets;
  for (const BatchTarget& target : job.targets) {
    if (seen_targets.size() >= max) break;
    if (!seen_targets.insert(target.target_id).second) continue;
    out.Add(kTargetInfo, With(labels, {{"target_id", target.target_id}, {"node_name", target.NodeName()}}), 1);
  }
}

void AddJob(FamilyBuilder& out, const JobSnapshot& snapshot, const RenderOptions& render) {
  const Labels labels = JobLabels(snapshot);
  out.Add(kScrapeSuccess, labels, snapshot.last_fetch_ok ? 1 : 0);
  if (!snapshot.last_good) return;  // never fetched successfully: nothing else is known
  const BatchJob& job = *snapshot.last_good;
  out.Add(kLastSuccess, labels, snapshot.last_success_unix);
  out.Add(kJobInfo,
          With(labels, {{"job_name", job.job_name}, {"job_type", job.job_type}, {"target_type", job.target_type}}), 1);
  AddStatus(out, labels, job.status);
  AddOptional(out, kTasks, labels, job.task_total_count);
  AddOptional(out, kTasksSucceeded, labels, job.task_success_count);
  AddOptional(out, kTasksFailed, labels, job.task_failed_count);
  if (job.has_tasks) AddTasksByStatus(out, labels, job);
  AddOptional(out, kCreated, labels, job.created_at);
  AddOptional(out, kStatusUpdated, labels, job.status_last_updated_at);
  if (render.per_task_metrics) AddTaskSeries(out, labels, job, static_cast<size_t>(render.max_tasks_per_job));
}

// ief_tracked_jobs: every combination for every project, so "no finished jobs" reads 0, not absent. A job not
// known to be finished (never fetched, say) counts as active.
void AddTrackedJobs(FamilyBuilder& out, const Snapshot& snapshot) {
  struct Counts {
    int config_active = 0, config_finished = 0, discovery_active = 0, discovery_finished = 0;
  };
  std::map<std::string, Counts> per_project;
  for (const ProjectSnapshot& project : snapshot.projects) per_project[project.project_id];
  for (const auto& job : snapshot.jobs) {
    bool finished = job->last_good && IsFinishedStatus(job->last_good->status);
    Counts& counts = per_project[job->project_id];
    if (job->source == "discovery") {
      ++(finished ? counts.discovery_finished : counts.discovery_active);
    } else {
      ++(finished ? counts.config_finished : counts.config_active);
    }
  }
  for (const auto& [project_id, counts] : per_project) {
    auto add = [&](const char* source, const char* phase, int value) {
      out.Add(kTrackedJobs, {{"project_id", project_id}, {"source", source}, {"phase", phase}}, value);
    };
    add("config", "active", counts.config_active);
    add("config", "finished", counts.config_finished);
    add("discovery", "active", counts.discovery_active);
    add("discovery", "finished", counts.discovery_finished);
  }
}

}  // namespace

std::vector<MetricFamily> RenderSnapshot(const Snapshot& snapshot) {
  FamilyBuilder out;
  for (const auto& job : snapshot.jobs) AddJob(out, *job, snapshot.render);
  for (const ProjectSnapshot& project : snapshot.projects) {
    if (project.has_answered) out.Add(kUp, {{"project_id", project.project_id}}, project.up ? 1 : 0);
  }
  AddTrackedJobs(out, snapshot);
  if (snapshot.has_completed_round) out.Add(kRoundDuration, {}, snapshot.last_round_seconds);
  out.Add(kRoundsOverrun, {}, static_cast<double>(snapshot.rounds_overrun));
  return out.Finish();
}

std::vector<MetricFamily> SnapshotCollector::Collect() const {
  try {
    return RenderSnapshot(*store_.Load());
  } catch (const std::exception& e) {
    log::Error("Rendering the snapshot failed", {{"err", e.what()}});
    return {};
  }
}

}  // namespace ief
