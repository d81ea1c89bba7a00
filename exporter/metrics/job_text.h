// The job and project metrics (docs/metrics.md) as Prometheus text, the way kube-state-metrics does it: each job's
// lines are rendered once, when the poller receives a new version of the job (RenderJob, on a worker thread), and
// a scrape only concatenates them family by family (RenderSnapshot). Only the few lines that change without a new
// job version (scrape success, last success time, project and poller state) are written at scrape time.
#pragma once

#include <array>
#include <cstdint>
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
enum class CachedFamily : uint8_t {
  kJobInfo, kJobStatus, kTasks, kTasksSucceeded, kTasksFailed, kTasksByStatus, kCreated, kStatusUpdated, kProgress,
  kTaskInfo, kTaskCreated, kTaskFailureInfo, kTargetInfo
};
inline constexpr size_t kCachedFamilyCount = static_cast<size_t>(CachedFamily::kTargetInfo) + 1;

// A job's families as deflate segments (util/gzip.h), one after the other in one buffer. The plain text is not
// kept: it is ten times the size, and Prometheus always asks for gzip. A gzip scrape joins the segments as they
// are; a plain one inflates them as it writes.
struct RenderedJob {
  std::string deflated;
  std::array<SegmentSpan, kCachedFamilyCount> families;
  SegmentView Family(CachedFamily family) const { return families[static_cast<size_t>(family)].In(deflated); }
};

// Renders the cached families of `job` (identity labels from `snapshot`) and compresses them. Only one job's
// text exists at a time, so a start-up that renders thousands of jobs never holds their plain text together.
std::shared_ptr<const RenderedJob> RenderJob(const JobSnapshot& snapshot, const BatchJob& job,
                                             const RenderOptions& options);

// Exposition text as a list of pieces: the jobs' deflate segments (kept alive by `keep_alive`) and strings written
// for this scrape. Nothing is copied into one buffer: the tens of megabytes of a large tenant go out piece by piece.
class TextPieces {
 public:
  // Appends text the pieces keep themselves.
  void AppendOwned(std::string text);
  // Appends a segment that lives at least as long as `keep_alive`.
  void AppendSegment(const SegmentView& segment);

  // The length of the plain text.
  size_t size() const;
  // The same text as one gzip stream, joined from the segments (the owned pieces are compressed now). The result
  // points into `owner` and into these pieces, which must outlive it.
  std::vector<std::string_view> Gzipped(std::shared_ptr<const void>& owner) const;
  void Reserve(size_t pieces) { pieces_.reserve(pieces); }
  std::string Flatten() const;
  std::vector<std::shared_ptr<const void>> keep_alive;

 private:
  friend class PlainTextReader;
  struct Piece {
    SegmentView text;  // the segment, or the text itself when not `deflated`
    bool deflated;
  };
  std::deque<std::string> owned_;  // a deque never moves its elements, so views stay valid
  std::vector<Piece> pieces_;
};

// The plain text of pieces, chunk by chunk (segments inflated as they come): a plain scrape of a large tenant
// never holds its whole text.
class PlainTextReader {
 public:
  explicit PlainTextReader(std::shared_ptr<const TextPieces> pieces) : pieces_(std::move(pieces)) {}
  // Appends the next chunk (about `kChunkBytes`, more when one segment's text is longer) to `chunk`. False when
  // there is nothing more, or a segment did not inflate (not expected: they are made by this process).
  bool Next(std::string& chunk);
  static constexpr size_t kChunkBytes = 256 * 1024;

 private:
  std::shared_ptr<const TextPieces> pieces_;
  size_t next_ = 0;
  SegmentInflater inflater_;
};

// The whole job/project exposition of a snapshot. Jobs the poller did not render (tests) are rendered here, with
// the default options.
void AppendSnapshotText(const std::shared_ptr<const Snapshot>& snapshot, TextPieces& out);
std::string RenderSnapshot(const Snapshot& snapshot);

// Longest failure reason exported in ief_batch_job_task_failure_info, in characters.
inline constexpr size_t kMaxReasonChars = 128;

}  // namespace ief
