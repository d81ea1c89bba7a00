#include "model/job.h"

#include <catch2/catch.hpp>

namespace {

ief::BatchJob Summary() {
  ief::BatchJob job;
  job.job_id = "j";
  job.job_name = "rollout";
  job.status = "Running";
  job.task_total_count = 10;
  job.task_success_count = 3;
  job.task_failed_count = 1;
  job.status_last_updated_at = 1700000000;
  return job;
}

}  // namespace

TEST_CASE("a summary differs when status, a task count or the status time differs, not otherwise") {
  const ief::BatchJob base = Summary();
  CHECK_FALSE(ief::SummaryDiffers(base, base));
  ief::BatchJob renamed = base;
  renamed.job_name = "other";
  renamed.tasks.resize(3);
  CHECK_FALSE(ief::SummaryDiffers(base, renamed));  // names and tasks are not in the comparison

  auto differs = [&](auto change) {
    ief::BatchJob changed = base;
    change(changed);
    return ief::SummaryDiffers(base, changed);
  };
  CHECK(differs([](ief::BatchJob& j) { j.status = "Successful"; }));
  CHECK(differs([](ief::BatchJob& j) { j.task_total_count = 11; }));
  CHECK(differs([](ief::BatchJob& j) { j.task_success_count = 4; }));
  CHECK(differs([](ief::BatchJob& j) { j.task_failed_count.reset(); }));
  CHECK(differs([](ief::BatchJob& j) { j.status_last_updated_at = 1700000001; }));
}

TEST_CASE("active and finished statuses") {
  for (const char* active : {"Waiting", "Running", "Stopping"}) {
    CHECK(ief::IsActiveStatus(active));
    CHECK_FALSE(ief::IsFinishedStatus(active));
  }
  for (const char* finished : {"Successful", "Partially_successful", "Failed", "Stopped", "Timed_out"}) {
    CHECK(ief::IsFinishedStatus(finished));
    CHECK_FALSE(ief::IsActiveStatus(finished));
  }
  CHECK_FALSE(ief::IsActiveStatus("Rebooting_all"));  // undocumented: neither
  CHECK_FALSE(ief::IsFinishedStatus("Rebooting_all"));
}

TEST_CASE("job statuses are a closed set that keeps an unknown status's text out of it") {
  for (const char* name : ief::kDocumentedJobStatuses) {
    ief::JobStatus status = ief::ParseJobStatus(name);
    CHECK(status != ief::JobStatus::kUnknown);
    CHECK(ief::JobStatusName(status) == name);
  }
  CHECK(ief::ParseJobStatus("Rebooting_all") == ief::JobStatus::kUnknown);
  CHECK(ief::ParseJobStatus("running") == ief::JobStatus::kUnknown);  // the API's spelling, exactly
  CHECK(ief::JobStatusName(ief::JobStatus::kUnknown).empty());
  ief::BatchJob job;
  job.status = "Rebooting_all";
  CHECK(job.Status() == ief::JobStatus::kUnknown);
  CHECK(job.status == "Rebooting_all");  // the label keeps the API's text
  CHECK(ief::IsSuccess(ief::JobStatus::kPartiallySuccessful));
  CHECK_FALSE(ief::IsSuccess(ief::JobStatus::kFailed));
}

TEST_CASE("failure reasons fall into a closed set of classes with stable label values") {
  CHECK(ief::ClassifyReason("") == ief::ReasonClass::kNone);
  CHECK(ief::ClassifyReason("image pull timed out") == ief::ReasonClass::kImagePull);
  CHECK(ief::ClassifyReason("node is offline") == ief::ReasonClass::kNodeOffline);
  CHECK(ief::ClassifyReason("insufficient memory") == ief::ReasonClass::kResources);
  CHECK(ief::ClassifyReason("deadline exceeded") == ief::ReasonClass::kTimeout);
  CHECK(ief::ClassifyReason("something else") == ief::ReasonClass::kOther);
  std::vector<std::string_view> names;
  for (ief::ReasonClass reason_class : ief::kReasonClasses) names.push_back(ief::ReasonClassName(reason_class));
  CHECK(names == std::vector<std::string_view>{"none", "image_pull", "timeout", "node_offline", "resources", "other"});
}
