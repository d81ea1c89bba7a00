#include "web/landing_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>

#include "util/time.h"
#include "version.h"

namespace ief {
namespace {

// A failure reason is shown cut to this many bytes; its tooltip holds up to kReasonTooltipBytes. Reasons are
// free text from the edge node (whole container logs have been seen in the wild).
constexpr size_t kReasonShownBytes = 120;
constexpr size_t kReasonTooltipBytes = 1000;
// A created_at outside [0, year 2096] is not a time this page can do arithmetic with (a time_point holds only
// ±292 years in nanoseconds): such a job's age is shown as unknown instead.
constexpr int64_t kLatestCreatedAt = 4'000'000'000;

// Inline, so the page needs nothing but itself. Colours say the status; the text says it too (no CSS, no colour
// vision needed).
constexpr std::string_view kStyle =
    "body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#1f2937;background:#fff}"
    "h1{font-size:1.4em;margin:0}h2{font-size:1.1em;margin:1.6em 0 .5em}"
    "header p{margin:.2em 0;color:#6b7280}nav a{margin-right:1.2em}"
    "table{border-collapse:collapse;margin:.3em 0}"
    "th,td{text-align:left;padding:.35em .7em;border-bottom:1px solid #e5e7eb;vertical-align:top}"
    "th{font-weight:600;color:#374151;background:#f3f4f6}"
    "code{font-family:ui-monospace,monospace;font-size:.85em}"
    ".name{font-weight:600;word-break:break-word}.muted{color:#6b7280;font-size:.85em}"
    ".warn{color:#b45309;font-weight:600}.num{text-align:right;white-space:nowrap}"
    ".note{background:#fef3c7;padding:.4em .7em;border-radius:4px;display:inline-block}"
    ".badge{display:inline-block;padding:.05em .55em;border-radius:.75em;font-size:.85em;font-weight:600;"
    "color:#fff;background:#6b7280;white-space:nowrap}"
    ".s-waiting{background:#64748b}.s-running{background:#2563eb}.s-ok,.up{background:#15803d}"
    ".s-partial{background:#b45309}.s-failed,.down{background:#b91c1c}.s-stopped{background:#475569}"
    ".s-other{background:#7c3aed}"
    ".bar{display:flex;width:12em;height:.75em;background:#e5e7eb;border-radius:.375em;overflow:hidden;"
    "margin:.35em 0 .15em}"
    ".counts{white-space:nowrap}.seg-ok{background:#16a34a}.seg-failed{background:#dc2626}"
    "ul.reasons{margin:0;padding-left:1.1em}ul.reasons li{word-break:break-word}"
    ".summary .badge{margin-left:.4em}";

void AppendEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

// The longest prefix of `text` of at most `max_bytes` that does not end inside a UTF-8 sequence.
std::string_view CutAtCharacter(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // A sequence has at most 3 continuation bytes (10xxxxxx); looking further back only matters for text that is
  // not UTF-8 anyway.
  for (int step = 0; step < 3 && end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80; ++step) --end;
  return text.substr(0, end);
}

// A short decimal: "20", "10.5", "0.25".
std::string ShortNumber(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  std::string text = buffer;
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

// "1.25 s", or "12 ms" below a second (a round against a quick API takes milliseconds).
std::string RoundDuration(double seconds) {
  if (seconds >= 1) return ShortNumber(seconds) + " s";
  if (seconds < 0.0005) return "under 1 ms";
  return ShortNumber(std::round(seconds * 1000)) + " ms";
}

std::string Percent(int64_t part, int64_t whole) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buffer;
}

// "2024-05-01T12:00:00Z": util's ISO 8601 form without its fraction (always zero).
std::string UtcTimestamp(WallTime time) {
  std::string text = FormatIso8601Utc(time);
  return text.substr(0, text.find('.')) + "Z";
}

// The badge's CSS class, from a closed set: the API's status text never becomes a class name.
std::string_view StatusClass(std::string_view status) {
  switch (ParseJobStatus(status)) {
    case JobStatus::kWaiting: return "s-waiting";
    case JobStatus::kRunning: return "s-running";
    case JobStatus::kSuccessful: return "s-ok";
    case JobStatus::kPartiallySuccessful: return "s-partial";
    case JobStatus::kFailed:
    case JobStatus::kTimedOut: return "s-failed";
    case JobStatus::kStopping:
    case JobStatus::kStopped: return "s-stopped";
    case JobStatus::kUnknown: break;
  }
  return "s-other";
}

void AppendStatusBadge(std::string& out, std::string_view status) {
  out += "<span class=\"badge ";
  out += StatusClass(status);
  out += "\">";
  if (status.empty()) {
    out += "unknown";
  } else {
    AppendEscaped(out, status);
  }
  out += "</span>";
}

// Newest first; jobs whose creation time is unknown last; ties by project and id, so the order is stable.
bool NewerFirst(const LandingJob* a, const LandingJob* b) {
  if (a->created_at != b->created_at) {
    if (!a->created_at) return false;
    if (!b->created_at) return true;
    return *a->created_at > *b->created_at;
  }
  return std::tie(a->project_id, a->job_id) < std::tie(b->project_id, b->job_id);
}

// The `limit` newest jobs, newest first: O(n log limit), however many jobs the tenant has.
std::vector<const LandingJob*> NewestJobs(const std::vector<LandingJob>& jobs, size_t limit) {
  std::vector<const LandingJob*> newest;
  newest.reserve(jobs.size());
  for (const LandingJob& job : jobs) newest.push_back(&job);
  const size_t shown = std::min(limit, newest.size());
  std::partial_sort(newest.begin(), newest.begin() + static_cast<std::ptrdiff_t>(shown), newest.end(), NewerFirst);
  newest.resize(shown);
  return newest;
}

bool SeveralProjects(const LandingPage& page) {
  if (page.projects.size() > 1) return true;
  return std::any_of(page.jobs.begin(), page.jobs.end(),
                     [&](const LandingJob& job) { return job.project_id != page.jobs.front().project_id; });
}

void AppendHead(std::string& out) {
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<title>IEF Exporter</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n";
}

void AppendHeader(std::string& out, const LandingPage& page) {
  out += "<header>\n<h1>IEF Exporter</h1>\n<p>version ";
  AppendEscaped(out, kVersion);
  out += " (revision ";
  AppendEscaped(out, kRevision);
  out += ") &middot; as of ";
  out += UtcTimestamp(page.now);
  out += "</p>\n<nav><a href=\"";
  AppendEscaped(out, page.telemetry_path);
  out += "\">Metrics</a> <a href=\"/-/healthy\">Health</a> <a href=\"/-/ready\">Readiness</a></nav>\n</header>\n";
}

void AppendProjects(std::string& out, const std::vector<LandingProject>& projects, WallTime now) {
  if (projects.empty()) {
    out += "<p>No project configured.</p>\n";
    return;
  }
  out += "<table id=\"projects\">\n<thead><tr><th>Project</th><th>IEF API</th><th>History counted since</th></tr>"
         "</thead>\n<tbody>\n";
  for (const LandingProject& project : projects) {
    out += "<tr><td><code>";
    AppendEscaped(out, project.project_id);
    out += "</code></td><td>";
    if (!project.has_answered) {
      out += "<span class=\"badge\">not asked yet</span>";
    } else if (project.up) {
      out += "<span class=\"badge up\">up</span>";
    } else {
      out += "<span class=\"badge down\">down</span>";
    }
    out += "</td><td>";
    if (project.history_since) {
      out += FormatUtc(*project.history_since, "%Y-%m-%d %H:%M:%S UTC") + " (" + FormatAge(*project.history_since, now) +
             " ago)";
    }
    out += "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n";
}

void AppendLastRound(std::string& out, const std::optional<double>& last_round_seconds) {
  out += "<p id=\"last-round\">Last poll round: ";
  if (last_round_seconds) {
    out += "<b>" + RoundDuration(*last_round_seconds) + "</b>";
  } else {
    out += "<b>none finished yet</b>";
  }
  out += "</p>\n";
}

void AppendRateLimits(std::string& out, const std::vector<LandingEndpoint>& endpoints) {
  if (endpoints.empty()) return;
  out += "<table id=\"rate-limits\">\n<thead><tr><th>Endpoint</th><th class=\"num\">Rate limit now</th>"
         "<th class=\"num\">Ceiling</th></tr></thead>\n<tbody>\n";
  for (const LandingEndpoint& endpoint : endpoints) {
    out += "<tr><td><code>";
    AppendEscaped(out, endpoint.endpoint);
    out += "</code></td><td class=\"num\">";
    out += ShortNumber(endpoint.rate) + " req/s";
    // The limiter halves its rate on a 429 and grows it back slowly: below the ceiling means the gateway pushed
    // back recently.
    if (endpoint.rate < endpoint.ceiling) out += " <span class=\"warn\">slowed down</span>";
    out += "</td><td class=\"num\">" + ShortNumber(endpoint.ceiling) + " req/s</td></tr>\n";
  }
  out += "</tbody>\n</table>\n";
}

void AppendHealth(std::string& out, const LandingPage& page) {
  out += "<section id=\"exporter\">\n<h2>Exporter</h2>\n";
  AppendProjects(out, page.projects, page.now);
  AppendLastRound(out, page.last_round_seconds);
  AppendRateLimits(out, page.endpoints);
  out += "</section>\n";
}

// How many jobs are in each status, over every job (also those the table leaves out): the documented statuses in
// lifecycle order, then the rest together, so that odd statuses from the API cannot make this line long.
void AppendStatusCounts(std::string& out, const std::vector<LandingJob>& jobs) {
  std::map<std::string_view, int64_t> counts;
  for (const LandingJob& job : jobs) ++counts[job.status];
  out += "<p class=\"summary\">" + std::to_string(jobs.size()) + " tracked:";
  int64_t others = static_cast<int64_t>(jobs.size());
  for (const char* status : kDocumentedJobStatuses) {
    auto it = counts.find(status);
    if (it == counts.end()) continue;
    out += " ";
    AppendStatusBadge(out, status);
    out += " " + std::to_string(it->second);
    others -= it->second;
  }
  if (others > 0) {
    out += " ";
    AppendStatusBadge(out, "other");
    out += " " + std::to_string(others);
  }
  out += "</p>\n";
}

void AppendProgress(std::string& out, const LandingJob& job) {
  // Counts come from the network: bounded first, so the sums below cannot overflow.
  constexpr int64_t kMostTasks = int64_t{1} << 40;
  const int64_t succeeded = std::clamp<int64_t>(job.tasks_succeeded, 0, kMostTasks);
  const int64_t failed = std::clamp<int64_t>(job.tasks_failed, 0, kMostTasks);
  const int64_t remaining = std::max<int64_t>(std::clamp<int64_t>(job.tasks_total, 0, kMostTasks) - succeeded - failed, 0);
  // Counts that contradict each other (more finished than total) still make a bar that fits.
  const int64_t whole = succeeded + failed + remaining;
  if (whole == 0) {
    out += "<span class=\"muted\">no tasks yet</span>";
    return;
  }
  out += "<div class=\"bar\" aria-hidden=\"true\"><span class=\"seg-ok\" style=\"width:" + Percent(succeeded, whole) +
         "\"></span><span class=\"seg-failed\" style=\"width:" + Percent(failed, whole) + "\"></span></div>";
  out += "<div class=\"muted counts\">" + std::to_string(succeeded) + " succeeded, " + std::to_string(failed) +
         " failed, " + std::to_string(remaining) + " remaining of " + std::to_string(whole) + "</div>";
}

void AppendReasons(std::string& out, const LandingJob& job) {
  if (job.top_reasons.empty()) return;
  out += "<ul class=\"reasons\">";
  for (const auto& [reason, tasks] : job.top_reasons) {
    std::string_view shown = CutAtCharacter(reason, kReasonShownBytes);
    const bool cut = shown.size() < reason.size();
    out += "<li";
    if (cut) {  // the longer text on hover
      out += " title=\"";
      AppendEscaped(out, CutAtCharacter(reason, kReasonTooltipBytes));
      out += "\"";
    }
    out += ">" + std::to_string(tasks) + " &times; ";
    AppendEscaped(out, shown);
    if (cut) out += "&hellip;";
    out += "</li>";
  }
  out += "</ul>";
}

void AppendJobRow(std::string& out, const LandingJob& job, WallTime now, bool show_project) {
  out += "<tr data-job-id=\"";
  AppendEscaped(out, job.job_id);
  out += "\"><td><div class=\"name\">";
  AppendEscaped(out, job.job_name.empty() ? job.job_id : job.job_name);
  out += "</div><div class=\"muted\"><code>";
  AppendEscaped(out, job.job_id);
  out += "</code>";
  if (!job.job_type.empty()) {
    out += " &middot; ";
    AppendEscaped(out, job.job_type);
  }
  out += "</div></td>";
  if (show_project) {
    out += "<td><code>";
    AppendEscaped(out, job.project_id);
    out += "</code></td>";
  }
  out += "<td>";
  AppendStatusBadge(out, job.status);
  if (job.status.empty() && !job.last_fetch_ok) {
    out += "<div class=\"warn\">no data: fetch failed or pending</div>";
  } else if (!job.last_fetch_ok) {
    out += "<div class=\"warn\">last fetch failed, showing the last known</div>";
  } else if (!job.has_details) {
    out += "<div class=\"muted\">from the job list, details pending</div>";
  }
  out += "</td><td>";
  AppendProgress(out, job);
  out += "</td><td class=\"num\">";
  out += job.created_at ? FormatAge(*job.created_at, now) : "&ndash;";
  out += "</td><td>";
  AppendReasons(out, job);
  out += "</td></tr>\n";
}

void AppendJobs(std::string& out, const LandingPage& page) {
  out += "<section id=\"jobs\">\n<h2>Jobs</h2>\n";
  if (page.jobs.empty()) {
    out += page.last_round_seconds ? "<p>No job tracked: the config lists none and discovery found none.</p>\n"
                                   : "<p>No job tracked yet: the first poll round is still running.</p>\n";
    out += "</section>\n";
    return;
  }
  AppendStatusCounts(out, page.jobs);
  std::vector<const LandingJob*> newest = NewestJobs(page.jobs, page.max_jobs);
  if (newest.size() < page.jobs.size()) {
    out += "<p class=\"note\">Showing the newest " + std::to_string(newest.size()) + " of " +
           std::to_string(page.jobs.size()) + " jobs; " + std::to_string(page.jobs.size() - newest.size()) +
           " older ones are left out here (every job is on <a href=\"";
    AppendEscaped(out, page.telemetry_path);
    out += "\">the metrics</a>).</p>\n";
  }
  const bool show_project = SeveralProjects(page);
  out += "<table id=\"job-table\">\n<thead><tr><th>Job</th>";
  if (show_project) out += "<th>Project</th>";
  out += "<th>Status</th><th>Tasks</th><th class=\"num\">Age</th><th>Most common failure reasons</th></tr></thead>\n"
         "<tbody>\n";
  for (const LandingJob* job : newest) AppendJobRow(out, *job, page.now, show_project);
  out += "</tbody>\n</table>\n</section>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendEscaped(out, text);
  return out;
}

std::string FormatAge(WallTime created, WallTime now) {
  using std::chrono::duration_cast;
  // In whole seconds first: subtracting two far-apart nanosecond time points could overflow.
  const int64_t seconds = duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() -
                          duration_cast<std::chrono::seconds>(created.time_since_epoch()).count();
  if (seconds <= 0) return "0s";
  const int64_t days = seconds / 86400, hours = seconds % 86400 / 3600, minutes = seconds % 3600 / 60;
  if (days > 0) return std::to_string(days) + "d " + std::to_string(hours) + "h";
  if (hours > 0) return std::to_string(hours) + "h " + std::to_string(minutes) + "m";
  if (minutes > 0) return std::to_string(minutes) + "m";
  return std::to_string(seconds) + "s";
}

std::string RenderLandingPage(const LandingPage& page) {
  std::string html;
  // About 1 KB a job row: one allocation for the whole page in the common case.
  html.reserve(8192 + 1024 * std::min(page.jobs.size(), page.max_jobs));
  AppendHead(html);
  html += "<body>\n";
  AppendHeader(html, page);
  AppendHealth(html, page);
  AppendJobs(html, page);
  html += "</body>\n</html>\n";
  return html;
}

namespace {

LandingJob JobRow(const JobSnapshot& job) {
  LandingJob row{.project_id = job.project_id, .job_id = job.job_id, .last_fetch_ok = job.last_fetch_ok,
                 .has_details = job.has_details};
  if (const BatchJob* known = job.last_good.get()) {
    row.job_name = known->job_name;
    row.job_type = known->job_type;
    row.status = known->status;
    if (known->created_at && *known->created_at >= 0 && *known->created_at <= kLatestCreatedAt) {
      row.created_at = FromApiSeconds(*known->created_at);
    }
    // The API's own counts until the details come (ShowBatchJob's documentation swaps their meanings: counting
    // tasks[] is the ground truth once it is known).
    row.tasks_total = known->task_total_count.value_or(0);
    row.tasks_succeeded = known->task_success_count.value_or(0);
    row.tasks_failed = known->task_failed_count.value_or(0);
  }
  if (job.tally) {
    row.tasks_total = job.tally->total;
    row.tasks_succeeded = job.tally->succeeded;
    row.tasks_failed = job.tally->failed;
    row.top_reasons = job.tally->top_reasons;
  }
  return row;
}

}  // namespace

LandingPage LandingPageFrom(const Snapshot& snapshot,
                            const std::vector<std::pair<std::string, RateLimiterStats>>& rate_limits, WallTime now) {
  LandingPage page;
  page.now = now;
  if (snapshot.has_completed_round) page.last_round_seconds = snapshot.last_round_seconds;
  for (const ProjectSnapshot& project : snapshot.projects) {
    page.projects.push_back({.project_id = project.project_id,
                             .has_answered = project.has_answered,
                             .up = project.up,
                             .history_since = project.history_since});
  }
  for (const auto& [endpoint, stats] : rate_limits) {
    page.endpoints.push_back({.endpoint = endpoint, .rate = stats.rate, .ceiling = stats.ceiling});
  }
  page.jobs.reserve(snapshot.jobs.size());
  for (const auto& job : snapshot.jobs) page.jobs.push_back(JobRow(*job));
  return page;
}

}  // namespace ief
