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
