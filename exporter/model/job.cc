#include "model/job.h"

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

bool IsFinishedStatus(std::string_view status) {
  return status == "Successful" || status == "Partially_successful" || status == "Failed" ||
         status == "Stopped" || status == "Timed_out";
}

bool IsActiveStatus(std::string_view status) {
  return status == "Waiting" || status == "Running" || status == "Stopping";
}

bool SummaryDiffers(const BatchJob& a, const BatchJob& b) {
  return a.status != b.status || a.task_total_count != b.task_total_count ||
         a.task_success_count != b.task_success_count || a.task_failed_count != b.task_failed_count ||
         a.status_last_updated_at != b.status_last_updated_at;
}

}  // namespace ief
