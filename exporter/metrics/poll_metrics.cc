#include "metrics/poll_metrics.h"

#include "model/job.h"

namespace ief {
namespace {

// A job takes minutes to a day: 1m, 5m, 10m, 30m, 1h, 2h, 4h, 12h, 24h.
const std::vector<double> kDefaultDurationBuckets = {60, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400};
// Waiting for an edge fleet to start: 10s to an hour.
const prometheus::Histogram::BucketBoundaries kWaitBuckets = {10, 30, 60, 120, 300, 600, 1800, 3600};

prometheus::Family<prometheus::Counter>& Counter(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Histogram>& Histogram(prometheus::Registry& registry, const char* name,
                                                     const char* help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

std::string Text(std::string_view view) { return std::string(view); }

// job_type comes from the API: the three types it documents keep their name, anything else is "other", so these
// never-deleted counters stay a few series per project whatever the API sends.
std::string JobTypeLabel(std::string_view job_type) {
  for (std::string_view known : {"node_upgrade", "deployment_deploy", "deployment_upgrade"}) {
    if (job_type == known) return std::string(known);
  }
  return "other";
}

}  // namespace

PollMetrics::PollMetrics(prometheus::Registry& registry)
    : invalid_job_ids_(Counter(registry, "ief_discovery_invalid_job_ids_total",
                               "Jobs ListBatchJob showed with an id that is not one URL path segment of [A-Za-z0-9_.-] "
                               "(at most 128 characters); they are skipped.")),
      list_walks_cut_(Counter(registry, "ief_discovery_list_walks_cut_total",
                              "ListBatchJob walks cut before the list ran out: nothing_new (a page brought no job "
                              "not seen before in the walk: offset ignored or pages repeated), page_cap (the walk's "
                              "cap of 500 pages).")),
      jobs_finished_(Counter(registry, "ief_batch_jobs_finished_total",
                             "Batch jobs seen entering a terminal status (seen by this exporter: a job that finished "
                             "before it started is not counted).")),
      retries_(Counter(registry, "ief_batch_job_retries_total",
                       "Batch jobs seen going from a terminal status back to an active one.")),
      durations_(Histogram(registry, "ief_batch_job_duration_seconds",
                           "status_last_updated_at - created_at of each batch job counted as finished.")),
      waits_(Histogram(registry, "ief_batch_job_wait_duration_seconds",
                       "How long batch jobs waited before running: the API's whole-second timestamps of the "
                       "Running status and of the creation, for jobs the exporter saw go from Waiting to Running.")),
      tasks_finished_(Counter(registry, "ief_batch_tasks_finished_total",
                              "Tasks seen reaching a terminal status, by the class of their failure reason (none, "
                              "image_pull, timeout, node_offline, resources, other).")),
      node_failures_(Counter(registry, "ief_node_task_failures_total",
                             "Failed tasks per edge node (target); opt-in: global.node_failure_metrics.")),
      node_overflow_(Counter(registry, "ief_node_task_failures_overflow_total",
                             "Failed tasks on edge nodes beyond the 1000 that have their own series.")),
      duplicate_listings_(Counter(registry, "ief_discovery_duplicate_jobs_total",
                                  "Job ids ListBatchJob showed more than once in one walk with different values; the "
                                  "newest view (by status_last_updated_at) was kept.")),
      stale_answers_(Counter(registry, "ief_api_stale_answers_total",
                             "Answers about a job (source: list or details) older than what had been seen of it "
                             "already, by its status_last_updated_at, or contradicting it at the same time: ignored "
                             "for history (a lagging replica, a timestamp that moved backwards).")),
      implausible_durations_(Counter(registry, "ief_batch_job_implausible_durations_total",
                                     "Job durations and waits that came out negative or longer than 90 days (bad "
                                     "timestamps): counted here instead of being observed in the histograms.")),
      duration_buckets_(kDefaultDurationBuckets) {}

void PollMetrics::Configure(const PollMetricsOptions& options) {
  MutexLock lock(mutex_);
  duration_buckets_ = options.job_duration_buckets.empty() ? kDefaultDurationBuckets : options.job_duration_buckets;
  node_failure_metrics_ = options.node_failure_metrics;
}

void PollMetrics::OnInvalidJobId(const std::string& project_id) {
  invalid_job_ids_.Add({{"project_id", project_id}}).Increment();
}

void PollMetrics::OnListWalkCut(const std::string& project_id, std::string_view reason) {
  list_walks_cut_.Add({{"project_id", project_id}, {"reason", Text(reason)}}).Increment();
}

void PollMetrics::OnJobSeen(const JobLabels& job) {
  std::pair<std::string, std::string> key{Text(job.project_id), JobTypeLabel(job.job_type)};
  {
    MutexLock lock(mutex_);
    if (!job_types_seen_.insert(key).second) return;
  }
  // Every series a job of this type can reach, at 0: Prometheus' rate() needs a sample before the first increment.
  std::map<std::string, std::string> labels = {{"project_id", key.first}, {"job_type", key.second}};
  retries_.Add(labels);
  implausible_durations_.Add(labels);
  for (JobStatus status : kFinishedJobStatuses) {
    auto with_status = labels;
    with_status["status"] = JobStatusName(status);
    jobs_finished_.Add(with_status);
    for (ReasonClass reason_class : kReasonClasses) {
      auto with_class = with_status;
      with_class["reason_class"] = ReasonClassName(reason_class);
      tasks_finished_.Add(with_class);
    }
  }
}

void PollMetrics::OnJobFinished(const JobLabels& job, std::string_view status,
                                std::optional<double> duration_seconds) {
  std::map<std::string, std::string> labels = {
      {"project_id", Text(job.project_id)}, {"job_type", JobTypeLabel(job.job_type)}, {"status", Text(status)}};
  jobs_finished_.Add(labels).Increment();
  if (!duration_seconds || *duration_seconds < 0) return;
  std::vector<double> buckets;
  {
    MutexLock lock(mutex_);
    buckets = duration_buckets_;
  }
  durations_.Add(labels, buckets).Observe(*duration_seconds);
}

void PollMetrics::OnJobRetried(const JobLabels& job) {
  retries_.Add({{"project_id", Text(job.project_id)}, {"job_type", JobTypeLabel(job.job_type)}}).Increment();
}

void PollMetrics::OnJobStarted(const JobLabels& job, double wait_seconds) {
  if (wait_seconds < 0) return;
  waits_.Add({{"project_id", Text(job.project_id)}, {"job_type", JobTypeLabel(job.job_type)}}, kWaitBuckets)
      .Observe(wait_seconds);
}

void PollMetrics::OnTasksFinished(const JobLabels& job, std::string_view status, std::string_view reason_class,
                                  int64_t count) {
  tasks_finished_
      .Add({{"project_id", Text(job.project_id)},
            {"job_type", JobTypeLabel(job.job_type)},
            {"status", Text(status)},
            {"reason_class", Text(reason_class)}})
      .Increment(static_cast<double>(count));
}

void PollMetrics::OnNodeTaskFailed(const JobLabels& job, std::string_view target_id) {
  if (!node_failure_metrics_) return;
  std::pair<std::string, std::string> key{Text(job.project_id), Text(target_id)};
  {
    MutexLock lock(mutex_);
    if (node_series_.count(key) == 0 && node_series_.size() >= kMaxNodeSeries) {
      node_overflow_.Add({{"project_id", key.first}}).Increment();
      return;
    }
    node_series_.insert(key);
  }
  node_failures_.Add({{"project_id", key.first}, {"target_id", key.second}}).Increment();
}

void PollMetrics::OnImplausibleDuration(const JobLabels& job) {
  implausible_durations_.Add({{"project_id", Text(job.project_id)}, {"job_type", JobTypeLabel(job.job_type)}})
      .Increment();
}

void PollMetrics::OnStaleAnswer(const JobLabels& job, std::string_view source) {
  stale_answers_.Add({{"project_id", Text(job.project_id)}, {"source", Text(source)}}).Increment();
}

void PollMetrics::OnDuplicateListing(const std::string& project_id, int64_t copies) {
  duplicate_listings_.Add({{"project_id", project_id}}).Increment(static_cast<double>(copies));
}

}  // namespace ief
