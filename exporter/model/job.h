// The batch-job model: every field of ShowBatchJob (and of a ListBatchJob item), as the API sends it.
// Absent and null fields stay empty / nullopt; nothing is invented.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ief {

// One {key, value} pair of extension_info.
struct ExtensionInfo {
  std::string key;
  std::string value;
};

// The documented job statuses, as the API spells them, in JobStatus order (ListBatchJob page).
inline constexpr const char* kDocumentedJobStatuses[] = {
    "Waiting", "Running", "Successful", "Partially_successful", "Failed", "Stopping", "Stopped", "Timed_out"};

// A job's (or task's) status as a closed set: the eight the API documents, and kUnknown for any other text, whose
// own spelling stays in BatchJob::status (and BatchTask::status) for the label, as the API sent it.
enum class JobStatus : uint8_t {
  kWaiting,
  kRunning,
  kSuccessful,
  kPartiallySuccessful,
  kFailed,
  kStopping,
  kStopped,
  kTimedOut,
  kUnknown,
};
inline constexpr JobStatus kFinishedJobStatuses[] = {JobStatus::kSuccessful, JobStatus::kPartiallySuccessful,
                                                     JobStatus::kFailed, JobStatus::kStopped, JobStatus::kTimedOut};
JobStatus ParseJobStatus(std::string_view text);
// The API's spelling of a documented status; "" for kUnknown (whose text only the job knows).
std::string_view JobStatusName(JobStatus status);
// After these a job does not change by itself (it may still be retried).
bool IsFinished(JobStatus status);
// Waiting, Running and Stopping jobs change by themselves; the others only when someone acts on them.
bool IsActive(JobStatus status);
// Successful or Partially_successful: a task that did its work.
bool IsSuccess(JobStatus status);

struct BatchTask {
  std::string task_id;
  std::string task_name;
  std::string status;
  std::string reason;  // failure cause; empty when the task did not fail
  std::optional<int64_t> created_at;
  std::string target_id;
  std::vector<ExtensionInfo> extension_info;
};

struct BatchTarget {
  std::string target_id;
  std::vector<ExtensionInfo> extension_info;

  // The node_name extension (empty if absent).
  std::string NodeName() const;
};

struct BatchJob {
  std::string job_id;
  std::string job_name;
  std::string job_type;
  std::string description;
  std::optional<int64_t> created_at;  // epoch seconds
  std::string status;
  // The API's own counts, exported under their field names. ShowBatchJob's documentation swaps the meanings of
  // the two, and the seed example contradicts its own tasks[]: counting tasks[] by status is the ground truth.
  std::optional<int64_t> task_total_count;
  std::optional<int64_t> task_failed_count;
  std::optional<int64_t> task_success_count;
  std::string target_type;
  std::string task_data;  // a JSON document encoded as a string; kept verbatim
  bool has_tasks = false;  // false when tasks[] was absent or null (a list item, say)
  std::vector<BatchTask> tasks;
  std::vector<BatchTarget> targets;
  std::optional<int64_t> status_last_updated_at;

  JobStatus Status() const { return ParseJobStatus(status); }
  // task_success_count + task_failed_count (absent ones as 0), in doubles: a sum of two int64 values from the
  // network could overflow.
  double CountedFinishedTasks() const {
    return static_cast<double>(task_success_count.value_or(0)) + static_cast<double>(task_failed_count.value_or(0));
  }
};

// The job without its bulky parts (tasks, targets, task_data, description): what a ListBatchJob item carries.
BatchJob SummaryOf(const BatchJob& job);

// A small closed set naming what a failure reason is about, derived from the API's error texts.
enum class ReasonClass : uint8_t { kNone, kImagePull, kTimeout, kNodeOffline, kResources, kOther };
inline constexpr ReasonClass kReasonClasses[] = {ReasonClass::kNone,        ReasonClass::kImagePull,
                                                 ReasonClass::kTimeout,     ReasonClass::kNodeOffline,
                                                 ReasonClass::kResources,   ReasonClass::kOther};
// kNone for an empty reason.
ReasonClass ClassifyReason(std::string_view reason);
// Its label value: "none", "image_pull", "timeout", "node_offline", "resources", "other".
std::string_view ReasonClassName(ReasonClass reason_class);

// What a job's tasks add up to, kept once the tasks themselves are dropped (memory): for the landing page, the
// progress ratio and the history counters.
struct TaskTally {
  int64_t total = 0;
  int64_t succeeded = 0;  // Successful or Partially_successful
  int64_t failed = 0;     // finished otherwise (Failed, Stopped, Timed_out)
  // Tasks by (status, reason class of their reason).
  std::map<std::pair<std::string, std::string>, int64_t> by_status_and_class;
  std::vector<std::pair<std::string, int64_t>> top_reasons;  // the most common failure reasons, up to 3
  std::vector<std::string> failed_targets;                   // target ids of the failed tasks, sorted
};
TaskTally TallyTasks(const BatchJob& job);

// IsFinished / IsActive of a status as the API spells it.
bool IsFinishedStatus(std::string_view status);
bool IsActiveStatus(std::string_view status);

// True when two versions of a job differ in what ListBatchJob shows: status, the three task counts or
// status_last_updated_at. The list is compared with the last details this way to decide whether the details are
// worth fetching again.
bool SummaryDiffers(const BatchJob& a, const BatchJob& b);

}  // namespace ief
