// The immutable picture of everything the exporter knows, published by the poller and read by scrapes.
// A scrape takes a shared_ptr to the latest Snapshot and never waits on the network or on the poller.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ief/job.h"

namespace ief {

struct RenderedJob;  // the job's exposition text (metrics/job_text.h); the poller only carries it

struct JobSnapshot {
  std::string project_id;
  std::string job_id;
  std::string source = "config";  // "config" (listed in the config) or "discovery"
  // The last successfully fetched version: the full job, or only its summary (no tasks, targets or task_data)
  // when `rendered` holds its text. Null until the first successful fetch.
  std::shared_ptr<const BatchJob> last_good;
  std::shared_ptr<const RenderedJob> rendered;  // exposition text of last_good, when the poller rendered it
  bool last_fetch_ok = false;
  double last_success_unix = 0;  // meaningful only when last_good is set
};

struct ProjectSnapshot {
  std::string project_id;
  bool has_answered = false;  // false until the first request to this project finished
  bool up = false;            // the latest request reached a sensible API answer
};

// How job details become series; part of the snapshot so a config reload changes it atomically.
struct RenderOptions {
  bool per_task_metrics = true;
  int max_tasks_per_job = 1000;
};

struct Snapshot {
  RenderOptions render;
  std::vector<ProjectSnapshot> projects;
  std::vector<std::shared_ptr<const JobSnapshot>> jobs;  // sorted by (project_id, job_id)
  double last_round_seconds = 0;
  bool has_completed_round = false;
  uint64_t rounds_overrun = 0;
};

// Holds the latest snapshot. Publish replaces it; readers keep whatever they loaded for as long as they need.
class SnapshotStore {
 public:
  SnapshotStore() : current_(std::make_shared<const Snapshot>()) {}

  std::shared_ptr<const Snapshot> Load() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  void Publish(std::shared_ptr<const Snapshot> next) {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace ief
