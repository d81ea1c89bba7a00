// What the poller reports besides snapshots, as counters and histograms that outlive the jobs (kube-state-metrics
// leaves this to "a component that listens to job events"; this is that component):
//   ief_batch_jobs_finished_total{project_id,job_type,status}
//   ief_batch_job_retries_total{project_id,job_type}
//   ief_batch_job_duration_seconds{project_id,job_type,status}        histogram
//   ief_batch_job_wait_duration_seconds{project_id,job_type}          histogram
//   ief_batch_tasks_finished_total{project_id,job_type,status,reason_class}
//   ief_node_task_failures_total{project_id,target_id}                opt-in, at most kMaxNodeSeries series
//   ief_node_task_failures_overflow_total{project_id}                 failures on nodes beyond that
//   ief_discovery_invalid_job_ids_total{project_id}
//   ief_discovery_duplicate_jobs_total{project_id}                    a job id listed twice in a walk, differently
//   ief_api_stale_answers_total{project_id,source}                    answers older than what was seen: ignored
//   ief_batch_job_implausible_durations_total{project_id,job_type}    durations not observed (bad timestamps)
//   ief_discovery_list_walks_cut_total{project_id,reason}             reason: nothing_new, page_cap
// No job ids on any of them, and job_type is one of the three the API documents or "other": their cardinality
// stays bounded whatever the tenant (or the API) does (the node counter is opt-in
// and capped). They live in the app's registry, so reloads, deleted jobs and retention never lower them.
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "poll/poll_observer.h"
#include "util/mutex.h"

namespace ief {

struct PollMetricsOptions {
  std::vector<double> job_duration_buckets;  // seconds; empty: the defaults (1m to 24h)
  bool node_failure_metrics = false;
};

class PollMetrics : public PollObserver {
 public:
  // Series of ief_node_task_failures_total at most (edge fleets have thousands of nodes).
  static constexpr size_t kMaxNodeSeries = 1000;

  explicit PollMetrics(prometheus::Registry& registry);
  // Buckets apply to series made from now on (set them before polling starts); the node switch at once.
  void Configure(const PollMetricsOptions& options);

  void OnInvalidJobId(const std::string& project_id) override;
  void OnListWalkCut(const std::string& project_id, std::string_view reason) override;
  void OnJobSeen(const JobLabels& job) override;
  void OnJobFinished(const JobLabels& job, std::string_view status, std::optional<double> duration_seconds) override;
  void OnJobRetried(const JobLabels& job) override;
  void OnJobStarted(const JobLabels& job, double wait_seconds) override;
  void OnTasksFinished(const JobLabels& job, std::string_view status, std::string_view reason_class,
                       int64_t count) override;
  void OnNodeTaskFailed(const JobLabels& job, std::string_view target_id) override;
  void OnImplausibleDuration(const JobLabels& job) override;
  void OnStaleAnswer(const JobLabels& job, std::string_view source) override;
  void OnDuplicateListing(const std::string& project_id, int64_t copies) override;

 private:
  prometheus::Family<prometheus::Counter>& invalid_job_ids_;
  prometheus::Family<prometheus::Counter>& list_walks_cut_;
  prometheus::Family<prometheus::Counter>& jobs_finished_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Histogram>& waits_;
  prometheus::Family<prometheus::Counter>& tasks_finished_;
  prometheus::Family<prometheus::Counter>& node_failures_;
  prometheus::Family<prometheus::Counter>& node_overflow_;
  prometheus::Family<prometheus::Counter>& duplicate_listings_;
  prometheus::Family<prometheus::Counter>& stale_answers_;
  prometheus::Family<prometheus::Counter>& implausible_durations_;

  Mutex mutex_;
  std::vector<double> duration_buckets_ GUARDED_BY(mutex_);
  std::set<std::pair<std::string, std::string>> node_series_ GUARDED_BY(mutex_);  // (project, target) with a series
  // (project, job type) with zeroed series.
  std::set<std::pair<std::string, std::string>> job_types_seen_ GUARDED_BY(mutex_);
  std::atomic<bool> node_failure_metrics_{false};
};

}  // namespace ief
