// The job and project metrics of CONTRACT.md as Prometheus text, the way kube-state-metrics does it: each job's
// lines are rendered once, when the poller receives a new version of the job (RenderJob, on a worker thread), and
// a scrape only concatenates them family by family (RenderSnapshot). Only the few lines that change without a new
// job version (scrape success, last success time, project and poller state) are written at scrape time.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "poll/snapshot.h"

namespace ief {

// The families whose lines depend only on the job's content, in exposition order.
enum CachedFamily {
  kJobInfo, kJobStatus, kTasks, kTasksSucceeded, kTasksFailed, kTasksByStatus, kCreated, kStatusUpdated,
  kTaskInfo, kTaskCreated, kTaskFailureInfo, kTargetInfo, kCachedFamilyCount
};

struct RenderedJob {
  RenderOptions options;  // what it was rendered with; a reload with other options re-renders
  std::array<std::string, kCachedFamilyCount> families;  // sample lines, no HELP/TYPE
};

// Renders the cached families of `job` (identity labels from `snapshot`).
std::shared_ptr<const RenderedJob> RenderJob(const JobSnapshot& snapshot, const BatchJob& job,
                                             const RenderOptions& options);

// The whole job/project exposition of a snapshot. Jobs without a usable pre-rendered text are rendered here.
std::string RenderSnapshot(const Snapshot& snapshot);

// Longest failure reason exported in ief_batch_job_task_failure_info, in characters.
inline constexpr size_t kMaxReasonChars = 128;

}  // namespace ief
