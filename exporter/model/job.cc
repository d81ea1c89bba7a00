#include "model/job.h"

#include <algorithm>
#include <cctype>

#include "util/text.h"

namespace ief {

std::string BatchTarget::NodeName() const {
  for (const ExtensionInfo& info : extension_info) {
    if (info.key == "node_name") return info.value;
  }
  return "";
}

BatchJob SummaryOf(const BatchJob& job) {
  BatchJob summary;
  summary.job_id = job.job_id;
  summary.job_name = job.job_name;
  summary.job_type = job.job_type;
  summary.created_at = job.created_at;
  summary.status = job.status;
  summary.task_total_count = job.task_total_count;
  summary.task_failed_count = job.task_failed_count;
  summary.task_success_count = job.task_success_count;
  summary.target_type = job.target_type;
  summary.has_tasks = job.has_tasks;
  summary.status_last_updated_at = job.status_last_updated_at;
  return summary;
}

JobStatus ParseJobStatus(std::string_view text) {
  for (size_t i = 0; i < std::size(kDocumentedJobStatuses); ++i) {
    if (text == kDocumentedJobStatuses[i]) return static_cast<JobStatus>(i);
  }
  return JobStatus::kUnknown;
}

std::string_view JobStatusName(JobStatus status) {
  static_assert(std::size(kDocumentedJobStatuses) == static_cast<size_t>(JobStatus::kUnknown));
  if (status == JobStatus::kUnknown) return "";
  return kDocumentedJobStatuses[static_cast<size_t>(status)];
}

bool IsFinished(JobStatus status) {
  return std::find(std::begin(kFinishedJobStatuses), std::end(kFinishedJobStatuses), status) !=
         std::end(kFinishedJobStatuses);
}

bool IsActive(JobStatus status) {
  return status == JobStatus::kWaiting || status == JobStatus::kRunning || status == JobStatus::kStopping;
}

bool IsSuccess(JobStatus status) {
  return status == JobStatus::kSuccessful || status == JobStatus::kPartiallySuccessful;
}

bool IsFinishedStatus(std::string_view status) { return IsFinished(ParseJobStatus(status)); }

bool IsActiveStatus(std::string_view status) { return IsActive(ParseJobStatus(status)); }

bool SummaryDiffers(const BatchJob& a, const BatchJob& b) {
  return a.status != b.status || a.task_total_count != b.task_total_count ||
         a.task_success_count != b.task_success_count || a.task_failed_count != b.task_failed_count ||
         a.status_last_updated_at != b.status_last_updated_at;
}

namespace {

bool ContainsIgnoringCase(std::string_view text, std::string_view word) {
  auto it = std::search(text.begin(), text.end(), word.begin(), word.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

bool ContainsAny(std::string_view text, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(), [&](std::string_view word) { return ContainsIgnoringCase(text, word); });
}

// Failure reasons longer than this are counted under their first kMaxReasonLength characters.
constexpr size_t kMaxReasonLength = 128;

}  // namespace

ReasonClass ClassifyReason(std::string_view reason) {
  if (reason.empty()) return ReasonClass::kNone;
  // Checked in this order: "image pull timed out" is about the image.
  if (ContainsAny(reason, {"image", "pull", "registry", "manifest"})) return ReasonClass::kImagePull;
  if (ContainsAny(reason, {"offline", "not ready", "notready", "unreachable", "disconnect", "lost", "heartbeat"})) {
    return ReasonClass::kNodeOffline;
  }
  if (ContainsAny(reason, {"insufficient", "memory", "oom", "cpu", "disk", "resource", "quota", "no space"})) {
    return ReasonClass::kResources;
  }
  if (ContainsAny(reason, {"timeout", "timed out", "deadline"})) return ReasonClass::kTimeout;
  return ReasonClass::kOther;
}

std::string_view ReasonClassName(ReasonClass reason_class) {
  switch (reason_class) {
    case ReasonClass::kNone: return "none";
    case ReasonClass::kImagePull: return "image_pull";
    case ReasonClass::kTimeout: return "timeout";
    case ReasonClass::kNodeOffline: return "node_offline";
    case ReasonClass::kResources: return "resources";
    case ReasonClass::kOther: return "other";
  }
  return "other";
}

TaskTally TallyTasks(const BatchJob& job) {
  TaskTally tally;
  std::map<std::string, int64_t> reasons;
  for (const BatchTask& task : job.tasks) {
    ++tally.total;
    ++tally.by_status_and_class[{task.status, std::string(ReasonClassName(ClassifyReason(task.reason)))}];
    if (IsSuccess(ParseJobStatus(task.status))) {
      ++tally.succeeded;
    } else if (IsFinishedStatus(task.status)) {
      ++tally.failed;
      tally.failed_targets.push_back(task.target_id);
    }
    if (!task.reason.empty()) ++reasons[TruncateUtf8(task.reason, kMaxReasonLength)];
  }
  std::vector<std::pair<std::string, int64_t>> ranked(reasons.begin(), reasons.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (ranked.size() > 3) ranked.resize(3);
  tally.top_reasons = std::move(ranked);
  std::sort(tally.failed_targets.begin(), tally.failed_targets.end());
  return tally;
}

}  // namespace ief
