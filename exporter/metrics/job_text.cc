#include "metrics/job_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include "util/log.h"
#include "util/text.h"

namespace ief {
namespace {

using Label = std::pair<std::string_view, std::string_view>;

struct FamilySpec {
  std::string_view name;  // a view: its length is known, rendering appends it once per sample
  const char* help;
  const char* type;
};

// The families written at scrape time; they come after the cached ones.
enum class ScrapeFamily : uint8_t { kScrapeSuccess, kLastSuccess, kUp, kTrackedJobs, kRoundDuration, kRoundsOverrun };
constexpr size_t kFamilyCount = kCachedFamilyCount + static_cast<size_t>(ScrapeFamily::kRoundsOverrun) + 1;

// A family's place in kFamilies: the cached families in CachedFamily's order, then the scrape-time ones.
struct FamilyIndex {
  constexpr FamilyIndex(CachedFamily family) : value(static_cast<size_t>(family)) {}  // NOLINT: implicit on purpose
  constexpr FamilyIndex(ScrapeFamily family) : value(kCachedFamilyCount + static_cast<size_t>(family)) {}  // NOLINT
  size_t value;
};

constexpr FamilySpec kFamilies[kFamilyCount] = {
    {"ief_batch_job_info", "Batch job identity; names live only here.", "gauge"},
    {"ief_batch_job_status", "Batch job status, one series per status, 1 on the current one.", "gauge"},
    {"ief_batch_job_tasks", "task_total_count as the API reports it.", "gauge"},
    {"ief_batch_job_tasks_succeeded", "task_success_count as the API reports it.", "gauge"},
    {"ief_batch_job_tasks_failed", "task_failed_count as the API reports it.", "gauge"},
    {"ief_batch_job_tasks_by_status", "Tasks in tasks[] counted by their status.", "gauge"},
    {"ief_batch_job_created_timestamp_seconds", "When the batch job was created.", "gauge"},
    {"ief_batch_job_status_updated_timestamp_seconds", "When the batch job status last changed.", "gauge"},
    {"ief_batch_job_progress_ratio",
     "Finished tasks (succeeded or failed) / all tasks of an active batch job, from tasks[] once the details are "
     "known, from the list's counts before.", "gauge"},
    {"ief_batch_job_task_info", "One series per task of a batch job.", "gauge"},
    {"ief_batch_job_task_created_timestamp_seconds", "When the task was created.", "gauge"},
    {"ief_batch_job_task_failure_info", "Failure reason of a task, cut to 128 characters.", "gauge"},
    {"ief_batch_job_target_info", "One series per target of a batch job.", "gauge"},
    {"ief_batch_job_scrape_success", "1 if the latest fetch of this batch job succeeded.", "gauge"},
    {"ief_batch_job_last_success_timestamp_seconds", "When this batch job was last fetched successfully.", "gauge"},
    {"ief_up", "1 if the latest request to this project's IEF API got a valid answer.", "gauge"},
    {"ief_tracked_jobs", "Batch jobs tracked, by where they came from and whether they finished.", "gauge"},
    {"ief_poll_round_duration_seconds", "How long the latest poll round took.", "gauge"},
    {"ief_poll_rounds_overrun_total", "Poll rounds that did not finish within the poll interval.", "counter"},
};

// Label value escaping of the text format. Runs without a special character are appended whole: this is the
// innermost loop of rendering a job.
void AppendEscaped(std::string& out, std::string_view value) {
  size_t run_start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out.append(value.data() + run_start, i - run_start);
    out += '\\';
    out += c == '\n' ? 'n' : c;
    run_start = i + 1;
  }
  out.append(value.data() + run_start, value.size() - run_start);
}

void AppendValue(std::string& out, double value) {
  char buffer[32];
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else if (std::trunc(value) == value && std::fabs(value) < 1e15) {
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, static_cast<long long>(value));
    out.append(buffer, end);
  } else {
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest exact form
    out.append(buffer, end);
  }
}

// Appends `label="value"` pairs, each preceded by a comma unless it opens the label set.
void AppendLabels(std::string& out, std::initializer_list<Label> labels, bool& first) {
  for (const Label& label : labels) {
    out += first ? '{' : ',';
    first = false;
    out += label.first;
    out += "=\"";
    AppendEscaped(out, label.second);
    out += '"';
  }
}

void AppendSampleEnd(std::string& out, bool has_labels, double value) {
  if (has_labels) out += '}';
  out += ' ';
  AppendValue(out, value);
  out += '\n';
}

// name{l1="v1",...} value\n
void AppendSample(std::string& out, FamilyIndex family, std::initializer_list<Label> labels, double value,
                  std::initializer_list<Label> more = {}) {
  out += kFamilies[family.value].name;
  bool first = true;
  AppendLabels(out, labels, first);
  AppendLabels(out, more, first);
  AppendSampleEnd(out, !first, value);
}

// The same, with the first labels given already rendered (`{name="value",...`, no closing brace): a job's
// identity labels are the same on every one of its lines, so they are escaped once per job.
void AppendSample(std::string& out, FamilyIndex family, std::string_view rendered_labels, double value,
                  std::initializer_list<Label> more) {
  out += kFamilies[family.value].name;
  out += rendered_labels;
  bool first = false;
  AppendLabels(out, more, first);
  AppendSampleEnd(out, true, value);
}

void AppendHeader(std::string& out, FamilyIndex family) {
  out += "# HELP ";
  out += kFamilies[family.value].name;
  out += ' ';
  out += kFamilies[family.value].help;
  out += "\n# TYPE ";
  out += kFamilies[family.value].name;
  out += ' ';
  out += kFamilies[family.value].type;
  out += '\n';
}

struct JobRenderer {
  using enum CachedFamily;
  const JobSnapshot& snapshot;
  const BatchJob& job;
  const RenderOptions& options;
  std::array<std::string, kCachedFamilyCount>& out;  // each family's lines

  std::string identity = RenderIdentity();  // {project_id="...",job_id="..."

  std::string RenderIdentity() const {
    std::string labels;
    bool first = true;
    AppendLabels(labels, {{"project_id", snapshot.project_id}, {"job_id", snapshot.job_id}}, first);
    return labels;
  }
  void Add(CachedFamily family, double value, std::initializer_list<Label> more = {}) {
    AppendSample(out[static_cast<size_t>(family)], family, identity, value, more);
  }
  void AddOptional(CachedFamily family, const std::optional<int64_t>& value) {
    if (value) Add(family, static_cast<double>(*value));
  }

  // One-hot status: every documented status, plus the current one if the API invented a new one.
  void Status() {
    bool documented = false;
    for (const char* known : kDocumentedJobStatuses) {
      documented |= job.status == known;
      Add(kJobStatus, job.status == known ? 1 : 0, {{"status", known}});
    }
    if (!documented) Add(kJobStatus, 1, {{"status", job.status}});
  }

  // Tasks counted by status: documented statuses always present (0 when none), others as they come.
  void TasksByStatus() {
    std::map<std::string_view, int64_t> counts;
    for (const BatchTask& task : job.tasks) ++counts[task.status];
    for (const char* known : kDocumentedJobStatuses) {
      auto it = counts.find(known);
      Add(kTasksByStatus, it == counts.end() ? 0 : static_cast<double>(it->second), {{"status", known}});
      if (it != counts.end()) counts.erase(it);
    }
    for (const auto& [status, count] : counts) Add(kTasksByStatus, static_cast<double>(count), {{"status", status}});
  }

  // Only while the job runs: a finished job's progress says nothing its status does not.
  void Progress() {
    if (!IsActiveStatus(job.status)) return;
    // Doubles: the list's counts come from the network, and a sum of two int64 could overflow.
    double total = 0, finished = 0;
    if (job.has_tasks) {
      TaskTally tally = TallyTasks(job);
      total = static_cast<double>(tally.total);
      finished = static_cast<double>(tally.succeeded) + static_cast<double>(tally.failed);
    } else {
      total = static_cast<double>(job.task_total_count.value_or(0));
      finished = job.CountedFinishedTasks();
    }
    if (total > 0) Add(kProgress, std::clamp(finished / total, 0.0, 1.0));
  }

  // Per-task and per-target series, at most max_tasks_per_job of each, skipping repeated ids (duplicate series
  // would make Prometheus reject the whole scrape).
  void Tasks() {
    const size_t max = static_cast<size_t>(options.max_tasks_per_job);
    std::set<std::string_view> seen;
    for (const BatchTask& task : job.tasks) {
      if (seen.size() >= max) break;
      if (!seen.insert(task.task_id).second) continue;
      Add(kTaskInfo, 1,
          {{"task_id", task.task_id}, {"task_name", task.task_name}, {"target_id", task.target_id},
           {"status", task.status}});
      if (task.created_at) Add(kTaskCreated, static_cast<double>(*task.created_at), {{"task_id", task.task_id}});
      if (!task.reason.empty()) {
        std::string reason = TruncateUtf8(task.reason, kMaxReasonChars);
        Add(kTaskFailureInfo, 1, {{"task_id", task.task_id}, {"reason", reason}});
      }
    }
    seen.clear();
    for (const BatchTarget& target : job.targets) {
      if (seen.size() >= max) break;
      if (!seen.insert(target.target_id).second) continue;
      std::string node = target.NodeName();
      Add(kTargetInfo, 1, {{"target_id", target.target_id}, {"node_name", node}});
    }
  }

  void Render() {
    Add(kJobInfo, 1, {{"job_name", job.job_name}, {"job_type", job.job_type}, {"target_type", job.target_type}});
    Status();
    AddOptional(kTasks, job.task_total_count);
    AddOptional(kTasksSucceeded, job.task_success_count);
    AddOptional(kTasksFailed, job.task_failed_count);
    if (job.has_tasks) TasksByStatus();
    AddOptional(kCreated, job.created_at);
    AddOptional(kStatusUpdated, job.status_last_updated_at);
    Progress();
    if (options.per_task_metrics) Tasks();
  }
};

// ief_tracked_jobs: every combination for every project, so "no finished jobs" reads 0, not absent. A job not
// known to be finished (never fetched, say) counts as active.
void AppendTrackedJobs(std::string& out, const Snapshot& snapshot) {
  std::map<std::string, std::array<int, 4>> per_project;  // config active/finished, discovery active/finished
  for (const ProjectSnapshot& project : snapshot.projects) per_project[project.project_id];
  for (const auto& job : snapshot.jobs) {
    bool finished = job->last_good && IsFinishedStatus(job->last_good->status);
    ++per_project[job->project_id][(job->source == JobSource::kDiscovery ? 2 : 0) + (finished ? 1 : 0)];
  }
  if (per_project.empty()) return;
  AppendHeader(out, ScrapeFamily::kTrackedJobs);
  for (const auto& [project_id, counts] : per_project) {
    int i = 0;
    for (JobSource source : {JobSource::kConfig, JobSource::kDiscovery}) {
      for (const char* phase : {"active", "finished"}) {
        AppendSample(out, ScrapeFamily::kTrackedJobs,
                     {{"project_id", project_id}, {"source", JobSourceName(source)}, {"phase", phase}}, counts[i++]);
      }
    }
  }
}

}  // namespace

std::shared_ptr<const RenderedJob> RenderJob(const JobSnapshot& snapshot, const BatchJob& job,
                                             const RenderOptions& options) {
  std::array<std::string, kCachedFamilyCount> text;
  JobRenderer{snapshot, job, options, text}.Render();
  auto rendered = std::make_shared<RenderedJob>();
  for (size_t family = 0; family < kCachedFamilyCount; ++family) {
    rendered->families[family] = AppendDeflateSegment(text[family], rendered->deflated);
    std::string().swap(text[family]);  // freed as soon as it is compressed
  }
  rendered->deflated.shrink_to_fit();
  return rendered;
}

void TextPieces::AppendOwned(std::string text) {
  if (text.empty()) return;
  owned_.push_back(std::move(text));
  pieces_.push_back({{owned_.back(), {0, 0, owned_.back().size()}}, false});
}

void TextPieces::AppendSegment(const SegmentView& segment) {
  if (segment.sum.length == 0) return;
  pieces_.push_back({segment, true});
}

std::vector<std::string_view> TextPieces::Gzipped(std::shared_ptr<const void>& owner) const {
  struct GzipBody {
    explicit GzipBody(size_t segments) : joiner(segments) {}
    std::deque<DeflateSegment> made;  // segments compressed for this scrape (headers, per-scrape lines)
    GzipJoiner joiner;
  };
  auto body = std::make_shared<GzipBody>(pieces_.size());
  for (const Piece& piece : pieces_) {
    body->joiner.Add(piece.deflated ? piece.text : body->made.emplace_back(MakeDeflateSegment(piece.text.bytes)).View());
  }
  owner = body;
  return body->joiner.Finish();
}

size_t TextPieces::size() const {
  size_t total = 0;
  for (const Piece& piece : pieces_) total += piece.text.sum.length;
  return total;
}

std::string TextPieces::Flatten() const {
  PlainTextReader reader(std::shared_ptr<const TextPieces>(std::shared_ptr<const TextPieces>(), this));
  std::string out;
  out.reserve(size());
  while (reader.Next(out)) {
  }
  return out;
}

bool PlainTextReader::Next(std::string& chunk) {
  const std::vector<TextPieces::Piece>& pieces = pieces_->pieces_;
  const size_t start = chunk.size();
  while (next_ < pieces.size() && chunk.size() - start < kChunkBytes) {
    const TextPieces::Piece& piece = pieces[next_++];
    if (!piece.deflated) {
      chunk += piece.text.bytes;
    } else if (!inflater_.AppendText(piece.text, chunk)) {
      log::Error("A job's compressed text did not inflate; the plain scrape ends short");
      next_ = pieces.size();
      return false;
    }
  }
  return next_ < pieces.size();
}

void AppendSnapshotText(const std::shared_ptr<const Snapshot>& shared, TextPieces& out) {
  using enum ScrapeFamily;
  const Snapshot& snapshot = *shared;
  out.keep_alive.push_back(shared);
  // Every job's cached text, rendering here the ones the poller did not (tests).
  std::vector<const RenderedJob*> texts(snapshot.jobs.size());  // alive as long as the snapshot or keep_alive
  for (size_t i = 0; i < snapshot.jobs.size(); ++i) {
    const JobSnapshot& job = *snapshot.jobs[i];
    if (!job.last_good) continue;
    if (!job.rendered) out.keep_alive.push_back(RenderJob(job, *job.last_good, RenderOptions{}));
    texts[i] = job.rendered ? job.rendered.get() : static_cast<const RenderedJob*>(out.keep_alive.back().get());
  }
  out.Reserve(texts.size() * kCachedFamilyCount + kFamilyCount + 8);  // no regrowth for a large tenant
  for (size_t index = 0; index < kCachedFamilyCount; ++index) {
    const auto family = static_cast<CachedFamily>(index);
    bool any = false;
    for (const auto& text : texts) any = any || (text && text->families[index].sum.length != 0);
    if (!any) continue;  // no series: no family, as client libraries do
    std::string header;
    AppendHeader(header, family);
    out.AppendOwned(std::move(header));
    for (const auto& text : texts) {
      if (text) out.AppendSegment(text->Family(family));
    }
  }
  std::string tail;  // the lines written for this scrape
  tail.reserve(snapshot.jobs.size() * 256 + 4096);  // two lines a job, and the rest
  if (!snapshot.jobs.empty()) {
    AppendHeader(tail, kScrapeSuccess);
    for (const auto& job : snapshot.jobs) {
      AppendSample(tail, kScrapeSuccess, {{"project_id", job->project_id}, {"job_id", job->job_id}},
                   job->last_fetch_ok ? 1 : 0);
    }
    size_t header_at = tail.size();
    AppendHeader(tail, kLastSuccess);
    size_t body_at = tail.size();
    for (const auto& job : snapshot.jobs) {
      if (!job->last_good) continue;
      AppendSample(tail, kLastSuccess, {{"project_id", job->project_id}, {"job_id", job->job_id}},
                   UnixSeconds(job->last_success));
    }
    if (tail.size() == body_at) tail.resize(header_at);
  }
  bool any_up = false;
  for (const ProjectSnapshot& project : snapshot.projects) {
    if (!project.has_answered) continue;
    if (!any_up) AppendHeader(tail, kUp);
    any_up = true;
    AppendSample(tail, kUp, {{"project_id", project.project_id}}, project.up ? 1 : 0);
  }
  AppendTrackedJobs(tail, snapshot);
  if (snapshot.has_completed_round) {
    AppendHeader(tail, kRoundDuration);
    AppendSample(tail, kRoundDuration, {}, snapshot.last_round_seconds);
  }
  AppendHeader(tail, kRoundsOverrun);
  AppendSample(tail, kRoundsOverrun, {}, static_cast<double>(snapshot.rounds_overrun));
  out.AppendOwned(std::move(tail));
}

std::string RenderSnapshot(const Snapshot& snapshot) {
  TextPieces pieces;
  // A non-owning pointer: the caller's snapshot outlives this call.
  AppendSnapshotText(std::shared_ptr<const Snapshot>(std::shared_ptr<const Snapshot>(), &snapshot), pieces);
  return pieces.Flatten();
}

}  // namespace ief
