// The job and project metrics (docs/metrics.md) as Prometheus text, the way kube-state-metrics does it: each job's
// lines are rendered once, when the poller receives a new version of the job (RenderJob, on a worker thread), and
// a scrape only concatenates them family by family (RenderSnapshot). Only the few lines that change without a new
// job version (scrape success, last success time, project and poller state) are written at scrape time.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "poll/snapshot.h"
#include "util/gzip.h"

namespace ief {

// How job details become series (global.per_task_metrics, global.max_tasks_per_job).
struct RenderOptions {
  bool per_task_metrics = true;
  int max_tasks_per_job = 1000;
  bool operator==(const RenderOptions&) const = default;
};

// The families whose lines depend only on the job's content, in exposition order.
enum CachedFamily {
  kJobInfo, kJobStatus, kTasks, kTasksSucceeded, kTasksFailed, kTasksByStatus, kCreated, kStatusUpdated, kProgress,
  kTaskInfo, kTaskCreated, kTaskFailureInfo, kTargetInfo, kCachedFamilyCount
};

struct RenderedJob {
  std::array<std::string, kCachedFamilyCount> families;  // sample lines, no HELP/TYPE

  // A family's lines as a deflate segment, for gzip scrapes. Made by the first scrape that asks, then kept: a job
  // whose answer changes at every poll is compressed at most once per scrape rather than once per fetch, and
  // never when nobody scrapes with gzip. Thread-safe.
  const DeflateSegment& Compressed(int family) const;

 private:
  mutable std::once_flag compress_once_;
  mutable std::array<DeflateSegment, kCachedFamilyCount> compressed_;
};

// Renders the cached families of `job` (identity labels from `snapshot`).
std::shared_ptr<const RenderedJob> RenderJob(const JobSnapshot& snapshot, const BatchJob& job,
                                             const RenderOptions& options);

// Exposition text as a list of pieces: views into the jobs' pre-rendered text (kept alive by `keep_alive`) and
// strings written for this scrape. A scrape sends the pieces one after the other, so the tens of megabytes of a
// large tenant are never copied into one buffer.
class TextPieces {
 public:
  // Appends text the pieces keep themselves.
  void AppendOwned(std::string text);
  // Appends a view of text that lives at least as long as `keep_alive`: one of `job`'s families, whose compressed
  // form a gzip scrape then reuses, or (job null) other text.
  void AppendView(std::string_view text, const RenderedJob* job = nullptr, int family = 0);

  const std::vector<std::string_view>& pieces() const { return pieces_; }
  // The same text as one gzip stream, joined from the pre-compressed pieces (the others are compressed now).
  // The result's pieces point into it and into these pieces, which must outlive it.
  std::shared_ptr<const std::vector<std::string_view>> Gzipped(std::shared_ptr<const void>& owner) const;
  size_t size() const;
  std::string Flatten() const;
  std::vector<std::shared_ptr<const void>> keep_alive;

 private:
  std::deque<std::string> owned_;  // a deque never moves its elements, so views stay valid
  std::vector<std::string_view> pieces_;
  struct Origin {
    const RenderedJob* job;  // null: compress the piece itself
    int family;
  };
  std::vector<Origin> origins_;  // per piece
};

// The whole job/project exposition of a snapshot. Jobs the poller did not render (tests) are rendered here, with
// the default options.
void AppendSnapshotText(const std::shared_ptr<const Snapshot>& snapshot, TextPieces& out);
std::string RenderSnapshot(const Snapshot& snapshot);

// Longest failure reason exported in ief_batch_job_task_failure_info, in characters.
inline constexpr size_t kMaxReasonChars = 128;

}  // namespace ief
