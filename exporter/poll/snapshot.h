// The immutable picture of everything the exporter knows, published by the poller and read by scrapes.
// A scrape takes a shared_ptr to the latest Snapshot and never waits on the network or on the poller.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/job.h"
#include "util/clock.h"
#include "util/mutex.h"

namespace ief {

// A job's exposition text. Opaque here: the metrics module defines, makes and reads it; the poller only carries
// it from the worker that rendered it to the scrapes.
struct RenderedJob;

enum class JobSource {
  kConfig,     // listed under jobs: in the config; kept even when it answers 404
  kDiscovery,  // found through ListBatchJob; dropped when it leaves the list
};
std::string_view JobSourceName(JobSource source);  // "config", "discovery"

struct JobSnapshot {
  std::string project_id;
  std::string job_id;
  JobSource source = JobSource::kConfig;
  // The latest known version, without its bulky parts when `rendered` holds its text: from ShowBatchJob when
  // `has_details`, else the job's ListBatchJob summary (a job is shown as soon as the list shows it, before its
  // details arrive). Null until either arrived.
  std::shared_ptr<const BatchJob> last_good;
  bool has_details = false;
  std::shared_ptr<const TaskTally> tally;       // what the details' tasks add up to; null without details
  std::shared_ptr<const RenderedJob> rendered;  // exposition text of last_good
  bool last_fetch_ok = false;
  WallTime last_success{};  // meaningful only when last_good is set
};

struct ProjectSnapshot {
  std::string project_id;
  bool has_answered = false;  // false until the first request to this project finished
  bool up = false;            // the latest request reached a sensible API answer
  bool listed = false;        // ListBatchJob was read successfully at least once
  std::string discovery_filter;  // which listed jobs are tracked (DescribeFilter): a reload that changes it lists afresh
  WallTime history_since{};      // the rollout history counts what happened after this (API time)
};

struct Snapshot {
  std::vector<ProjectSnapshot> projects;
  std::vector<std::shared_ptr<const JobSnapshot>> jobs;  // sorted by (project_id, job_id)
  // Discovered jobs that finished longer ago than finished_job_retention: no series, but a reload carries them over
  // (with their summary only) so that a retry is still counted as one.
  std::vector<std::shared_ptr<const JobSnapshot>> expired_jobs;
  double last_round_seconds = 0;
  bool has_completed_round = false;
  uint64_t rounds_overrun = 0;
};

// Holds the latest snapshot. Publish replaces it; readers keep whatever they loaded for as long as they need.
class SnapshotStore {
 public:
  SnapshotStore() : current_(std::make_shared<const Snapshot>()) {}

  std::shared_ptr<const Snapshot> Load() const {
    MutexLock lock(mutex_);
    return current_;
  }
  void Publish(std::shared_ptr<const Snapshot> next) {
    MutexLock lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable Mutex mutex_;
  std::shared_ptr<const Snapshot> current_ GUARDED_BY(mutex_);
};

}  // namespace ief
