// Turns the latest Snapshot into the per-job and per-project metric families of CONTRACT.md.
// A custom Collectable rather than long-lived Family series: jobs and tasks come and go, and a snapshot makes a
// job's series vanish the moment it is no longer tracked, with no Family::Remove (a linear scan) in sight.
#pragma once

#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "poll/snapshot.h"

namespace ief {

// Builds the families for one snapshot. Deterministic: jobs in snapshot order, tasks in API order.
std::vector<prometheus::MetricFamily> RenderSnapshot(const Snapshot& snapshot);

class SnapshotCollector : public prometheus::Collectable {
 public:
  explicit SnapshotCollector(const SnapshotStore& store) : store_(store) {}
  // Never throws: an exception escaping Collect() would terminate the process.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const SnapshotStore& store_;
};

// Longest failure reason exported in ief_batch_job_task_failure_info, in characters.
inline constexpr size_t kMaxReasonChars = 128;

}  // namespace ief
