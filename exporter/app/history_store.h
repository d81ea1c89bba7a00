// The --storage.path directory: where the rollout history's state file lives, one per shard
// (history-shard-<I>.json), locked so that two exporters never share one. Whatever goes wrong on disk, the exporter
// keeps serving: a state file that cannot be used is moved aside (history starts afresh, nothing old is counted
// again), a write that fails is logged once and counted, and the next save tries again.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metrics/api_metrics.h"
#include "poll/history.h"
#include "util/result.h"

namespace ief {

class HistoryStore {
 public:
  // Creates the directory if needed and takes its lock. Fails only when another process holds the lock.
  static Result<std::unique_ptr<HistoryStore>> Open(const std::string& directory, ShardAssignment shard,
                                                    ExporterInfoMetrics& metrics);
  ~HistoryStore();
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  // What an earlier run saved, or nothing (no file yet, or one that was moved aside). After a resharding, the jobs
  // that now belong to this shard also take what the other shards' files in the directory counted of them
  // (AdoptMovedJobs), and a replica with no file yet starts where they had got to (StartWhereSiblingsGot);
  // `started` (API seconds) is where a project only they know starts otherwise.
  std::optional<HistoryState> Load(int64_t started);
  // Replaces the state file; false when it could not (logged once until a save succeeds, and counted).
  // Thread-compatible: the poller calls it from one thread at a time.
  bool Save(const HistoryState& state);

  const std::string& path() const { return path_; }

 private:
  HistoryStore(std::string directory, ShardAssignment shard, int lock_fd, ExporterInfoMetrics& metrics);
  struct OwnFile {
    std::optional<HistoryState> state;
    bool absent = false;  // no file yet (not one moved aside): a replica new to the directory
  };
  OwnFile LoadOwn();
  // The state files of the other shards (read only: they are not ours to move aside).
  std::vector<HistoryState> LoadSiblings();
  void MoveAside(const std::string& reason);

  const std::string directory_;
  const ShardAssignment shard_;
  const std::string path_;
  const int lock_fd_;  // -1 when the directory could not hold a lock file (read-only): saves will fail and be counted
  ExporterInfoMetrics& metrics_;
  bool failing_ = false;  // the latest save failed (logged once until one succeeds)
};

}  // namespace ief
