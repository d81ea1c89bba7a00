#include "metrics/poll_metrics.h"

#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <sstream>

namespace {

std::string Render(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

const ief::JobLabels kUpgrade{"p1", "node_upgrade"};

}  // namespace

TEST_CASE("invalid job ids from the list are counted per project") {
  prometheus::Registry registry;
  ief::PollMetrics metrics(registry);
  metrics.OnInvalidJobId("p1");
  metrics.OnInvalidJobId("p1");
  CHECK_THAT(Render(registry), Catch::Contains("ief_discovery_invalid_job_ids_total{project_id=\"p1\"} 2"));
}

TEST_CASE("finished jobs, retries and durations are counted by project, type and status") {
  prometheus::Registry registry;
  ief::PollMetrics metrics(registry);
  metrics.OnJobFinished(kUpgrade, "Successful", 90);
  metrics.OnJobFinished(kUpgrade, "Successful", 4000);
  metrics.OnJobFinished(kUpgrade, "Failed", std::nullopt);  // counted, but no duration to observe
  metrics.OnJobRetried(kUpgrade);
  metrics.OnJobStarted(kUpgrade, 45);
  const std::string text = Render(registry);
  CHECK_THAT(text, Catch::Contains(
                       R"(ief_batch_jobs_finished_total{job_type="node_upgrade",project_id="p1",status="Successful"} 2)"));
  CHECK_THAT(text, Catch::Contains(
                       R"(ief_batch_jobs_finished_total{job_type="node_upgrade",project_id="p1",status="Failed"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_job_retries_total{job_type="node_upgrade",project_id="p1"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_job_duration_seconds_bucket{job_type="node_upgrade",project_id="p1",status="Successful",le="300"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_job_duration_seconds_bucket{job_type="node_upgrade",project_id="p1",status="Successful",le="86400"} 2)"));
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_job_duration_seconds_sum{job_type="node_upgrade",project_id="p1",status="Successful"} 4090)"));
  CHECK_THAT(text, !Catch::Contains(R"(ief_batch_job_duration_seconds_count{job_type="node_upgrade",project_id="p1",status="Failed"})"));
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_job_wait_duration_seconds_bucket{job_type="node_upgrade",project_id="p1",le="60"} 1)"));
  CHECK_THAT(text, !Catch::Contains("job_id"));  // history never carries job ids
}

TEST_CASE("configured duration buckets apply to the series made afterwards") {
  prometheus::Registry registry;
  ief::PollMetrics metrics(registry);
  metrics.Configure({.job_duration_buckets = {30, 90}});
  metrics.OnJobFinished(kUpgrade, "Successful", 60);
  const std::string text = Render(registry);
  CHECK_THAT(text, Catch::Contains(R"(status="Successful",le="90"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(status="Successful",le="30"} 0)"));
  CHECK_THAT(text, !Catch::Contains(R"(status="Successful",le="86400"})"));
}

TEST_CASE("finished tasks are counted by status and reason class") {
  prometheus::Registry registry;
  ief::PollMetrics metrics(registry);
  metrics.OnTasksFinished(kUpgrade, "Failed", "image_pull", 3);
  metrics.OnTasksFinished(kUpgrade, "Failed", "image_pull", 2);
  metrics.OnTasksFinished(kUpgrade, "Successful", "none", 7);
  const std::string text = Render(registry);
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_tasks_finished_total{job_type="node_upgrade",project_id="p1",reason_class="image_pull",status="Failed"} 5)"));
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_tasks_finished_total{job_type="node_upgrade",project_id="p1",reason_class="none",status="Successful"} 7)"));
}

TEST_CASE("node failure series are opt-in and capped, the rest counted as overflow") {
  prometheus::Registry registry;
  ief::PollMetrics metrics(registry);
  metrics.OnNodeTaskFailed(kUpgrade, "node-a");
  CHECK_THAT(Render(registry), !Catch::Contains("ief_node_task_failures_total{"));
  metrics.Configure({.node_failure_metrics = true});
  metrics.OnNodeTaskFailed(kUpgrade, "node-a");
  metrics.OnNodeTaskFailed(kUpgrade, "node-a");
  for (size_t i = 1; i < ief::PollMetrics::kMaxNodeSeries + 5; ++i) {
    metrics.OnNodeTaskFailed(kUpgrade, "node-" + std::to_string(i));
  }
  metrics.OnNodeTaskFailed(kUpgrade, "node-a");  // it has a series: still counted there
  const std::string text = Render(registry);
  CHECK_THAT(text, Catch::Contains(R"(ief_node_task_failures_total{project_id="p1",target_id="node-a"} 3)"));
  CHECK_THAT(text, Catch::Contains(R"(ief_node_task_failures_overflow_total{project_id="p1"} 5)"));
}

TEST_CASE("the counters of a job type start at 0 when a job of that type is first seen") {
  prometheus::Registry registry;
  ief::PollMetrics metrics(registry);
  metrics.OnJobSeen(kUpgrade);
  metrics.OnJobSeen(kUpgrade);
  const std::string text = Render(registry);
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_jobs_finished_total{job_type="node_upgrade",project_id="p1",status="Timed_out"} 0)"));
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_job_retries_total{job_type="node_upgrade",project_id="p1"} 0)"));
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_tasks_finished_total{job_type="node_upgrade",project_id="p1",reason_class="resources",status="Failed"} 0)"));
}

TEST_CASE("job types the API does not document share one series set, whatever it sends") {
  prometheus::Registry registry;
  ief::PollMetrics metrics(registry);
  for (int i = 0; i < 50; ++i) {
    const std::string made_up = "type-" + std::to_string(i);
    metrics.OnJobSeen({"p1", made_up});
    metrics.OnJobFinished({"p1", made_up}, "Failed", 10.0);
  }
  const std::string text = Render(registry);
  CHECK_THAT(text, Catch::Contains(R"(ief_batch_jobs_finished_total{job_type="other",project_id="p1",status="Failed"} 50)"));
  CHECK_THAT(text, !Catch::Contains("type-"));
}
