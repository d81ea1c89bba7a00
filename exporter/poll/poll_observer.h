// What the poller reports besides snapshots: data problems it meets, and the life of the jobs it follows. A
// transition is reported once, when the poller first sees it (from a list read or from details), never again for
// a re-read of an unchanged job, a stale answer, a reload or a restart with a state file, and not at all for what
// happened before history started (a start-up that lists 5,000 old finished jobs reports nothing). The rules are
// in history.h. The receiver (metrics) turns these into counters that outlive
// the jobs. Implementations must be thread-safe; every method is optional.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ief {

// The job a report is about, as counters label it (no job id: history keeps a bounded cardinality).
struct JobLabels {
  std::string_view project_id;
  std::string_view job_type;
};

class PollObserver {
 public:
  virtual ~PollObserver() = default;
  // ListBatchJob showed a job id that is not one path segment of [A-Za-z0-9_.-]; the job is skipped.
  virtual void OnInvalidJobId(const std::string& project_id) { (void)project_id; }
  // The poller saw a job (of this type, in this project) for the first time. Counters start from 0 then, so that
  // rate() and increase() in Prometheus see their first increment.
  virtual void OnJobSeen(const JobLabels& job) { (void)job; }
  // A job entered a terminal status. `duration_seconds`: status_last_updated_at - created_at, when both are known.
  virtual void OnJobFinished(const JobLabels& job, std::string_view status, std::optional<double> duration_seconds) {
    (void)job, (void)status, (void)duration_seconds;
  }
  // A job went from a terminal status back to an active one (RetryBatchJob).
  virtual void OnJobRetried(const JobLabels& job) { (void)job; }
  // A job went from Waiting to Running; `wait_seconds` is as precise as the API's timestamps (whole seconds) and
  // the poll rounds that saw it.
  virtual void OnJobStarted(const JobLabels& job, double wait_seconds) { (void)job, (void)wait_seconds; }
  // `count` more tasks of a job reached terminal `status`, with reasons of `reason_class`.
  virtual void OnTasksFinished(const JobLabels& job, std::string_view status, std::string_view reason_class,
                               int64_t count) {
    (void)job, (void)status, (void)reason_class, (void)count;
  }
  // A task on edge node `target_id` failed.
  virtual void OnNodeTaskFailed(const JobLabels& job, std::string_view target_id) { (void)job, (void)target_id; }
  // A job's duration or wait came out negative or longer than history.h's kMaxPlausibleDurationSeconds (bad
  // timestamps): it was not observed.
  virtual void OnImplausibleDuration(const JobLabels& job) { (void)job; }
  // An answer (`source`: "list" or "details") was older than what had been seen of the job already, or contradicted
  // it at the same API time: it was ignored for history.
  virtual void OnStaleAnswer(const JobLabels& job, std::string_view source) { (void)job, (void)source; }
  // One list walk showed a job id more than once, with different values: the newest view was kept.
  virtual void OnDuplicateListing(const std::string& project_id) { (void)project_id; }
};

}  // namespace ief
