#include "web/landing_page.h"

#include <algorithm>

#include "version.h"

namespace ief {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
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
  return out;
}

std::string RenderLandingPage(const LandingPage& page) {
  std::vector<const LandingJob*> jobs;
  for (const LandingJob& job : page.jobs) jobs.push_back(&job);
  std::stable_sort(jobs.begin(), jobs.end(), [](const LandingJob* a, const LandingJob* b) {
    return a->created_at.value_or(WallTime{}) > b->created_at.value_or(WallTime{});
  });
  std::string html = "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>IEF Exporter</title></head>\n"
                     "<body>\n<h1>IEF Exporter</h1>\n<p>version " + HtmlEscape(kVersion) + " (revision " +
                     HtmlEscape(kRevision) + ")</p>\n<ul>\n<li><a href=\"" + HtmlEscape(page.telemetry_path) +
                     "\">Metrics</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n"
                     "<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n<table>\n";
  for (const LandingJob* job : jobs) {
    html += "<tr><td>" + HtmlEscape(job->job_name) + "</td><td>" + HtmlEscape(job->status) + "</td></tr>\n";
  }
  html += "</table>\n</body>\n</html>\n";
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
    if (known->created_at) row.created_at = FromUnixSeconds(static_cast<double>(*known->created_at));
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
    page.projects.push_back({.project_id = project.project_id, .has_answered = project.has_answered, .up = project.up});
  }
  for (const auto& [endpoint, stats] : rate_limits) {
    page.endpoints.push_back({.endpoint = endpoint, .rate = stats.rate, .ceiling = stats.ceiling});
  }
  for (const auto& job : snapshot.jobs) page.jobs.push_back(JobRow(*job));
  return page;
}

}  // namespace ief
