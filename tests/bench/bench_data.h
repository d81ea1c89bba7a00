// Synthetic batch jobs shaped like real ones (UUID ids, node names, a failed task now and then), for benchmarks.
#pragma once

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "model/job.h"
#include "metrics/job_text.h"
#include "poll/snapshot.h"

namespace ief::bench {

inline std::string Uuid(unsigned a, unsigned b) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012x", a * 2654435761u, b & 0xffff, a & 0xfff, b & 0xfff,
                a * 7919u + b);
  return buf;
}

inline BatchJob MakeJob(unsigned index, int tasks) {
  BatchJob job;
  job.job_id = Uuid(index, 1);
  job.job_name = "rollout-app-" + std::to_string(index);
  job.job_type = "deployment_upgrade";
  job.target_type = "node";
  job.status = index % 5 == 0 ? "Partially_successful" : "Running";
  job.created_at = 1700000000 + index;
  job.status_last_updated_at = 1700000100 + index;
  job.task_total_count = tasks;
  job.task_success_count = tasks / 2;
  job.task_failed_count = index % 5 == 0 ? 1 : 0;
  job.has_tasks = true;
  for (int t = 0; t < tasks; ++t) {
    BatchTask task;
    task.task_id = Uuid(index, 1000 + t);
    task.task_name = job.job_name + "-" + std::to_string(t);
    task.target_id = Uuid(index, 5000 + t);
    task.status = (index % 5 == 0 && t == 0) ? "Failed" : (t % 2 == 0 ? "Successful" : "Running");
    task.reason = task.status == "Failed" ? "image pull failed: sample:latest not found" : "";
    task.created_at = 1700000200 + t;
    task.extension_info.push_back({"deployment_id", Uuid(t, index)});
    job.tasks.push_back(std::move(task));
    BatchTarget target;
    target.target_id = Uuid(index, 5000 + t);
    target.extension_info.push_back({"node_name", "edge-node-" + std::to_string(t)});
    job.targets.push_back(std::move(target));
  }
  return job;
}

// A snapshot of `jobs` jobs x `tasks` tasks, as the poller builds it: text rendered, only summaries kept. Every
// task is exported (max_tasks_per_job raised to `tasks` beyond its default of 1,000).
inline std::shared_ptr<const Snapshot> MakeSnapshot(int jobs, int tasks, bool keep_full_jobs = false) {
  const RenderOptions options{.max_tasks_per_job = std::max(tasks, RenderOptions{}.max_tasks_per_job)};
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->projects.push_back({"0123456789abcdef0123456789abcdef", true, true});
  for (int i = 0; i < jobs; ++i) {
    BatchJob job = MakeJob(static_cast<unsigned>(i), tasks);
    auto state = std::make_shared<JobSnapshot>();
    state->project_id = "0123456789abcdef0123456789abcdef";
    state->job_id = job.job_id;
    state->last_fetch_ok = true;
    state->last_success = FromUnixSeconds(1700000300);
    state->has_details = true;
    state->rendered = RenderJob(*state, job, options);
    state->last_good = std::make_shared<const BatchJob>(keep_full_jobs ? job : SummaryOf(job));
    snapshot->jobs.push_back(std::move(state));
  }
  std::sort(snapshot->jobs.begin(), snapshot->jobs.end(),
            [](const auto& a, const auto& b) { return a->job_id < b->job_id; });
  snapshot->has_completed_round = true;
  return snapshot;
}

// The ShowBatchJob JSON of a synthetic job.
inline std::string JobJson(const BatchJob& job) {
  std::string out = "{\"job_id\":\"" + job.job_id + "\",\"job_name\":\"" + job.job_name +
                    "\",\"job_type\":\"deployment_upgrade\",\"target_type\":\"node\",\"description\":\"\","
                    "\"status\":\"" + job.status + "\",\"created_at\":" + std::to_string(*job.created_at) +
                    ",\"status_last_updated_at\":" + std::to_string(*job.status_last_updated_at) +
                    ",\"task_total_count\":" + std::to_string(job.tasks.size()) +
                    ",\"task_failed_count\":0,\"task_success_count\":0,\"task_data\":\"{\\\"deployment\\\":{}}\","
                    "\"tasks\":[";
  for (size_t i = 0; i < job.tasks.size(); ++i) {
    const BatchTask& t = job.tasks[i];
    out += std::string(i ? "," : "") + "{\"task_name\":\"" + t.task_name + "\",\"task_id\":\"" + t.task_id +
           "\",\"target_id\":\"" + t.target_id + "\",\"status\":\"" + t.status + "\",\"created_at\":" +
           std::to_string(*t.created_at) + ",\"reason\":\"" + t.reason +
           "\",\"extension_info\":[{\"key\":\"deployment_id\",\"value\":\"" + t.extension_info[0].value + "\"}]}";
  }
  out += "],\"targets\":[";
  for (size_t i = 0; i < job.targets.size(); ++i) {
    out += std::string(i ? "," : "") + "{\"target_id\":\"" + job.targets[i].target_id +
           "\",\"extension_info\":[{\"key\":\"node_name\",\"value\":\"" + job.targets[i].NodeName() + "\"}]}";
  }
  return out + "]}";
}

}  // namespace ief::bench
