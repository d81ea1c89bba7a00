#include "web/landing_page.h"

#include <prometheus/registry.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <regex>

#include "web/exporter_web.h"

using Catch::Contains;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

// A fixed "now": 2024-05-01 12:00:00 UTC.
const ief::WallTime kNow = ief::FromUnixSeconds(1714564800);

ief::LandingJob Job(const std::string& id, std::optional<ief::WallTime> created, const std::string& status = "Running") {
  return ief::LandingJob{.project_id = "p1", .job_id = id, .job_name = "name-" + id, .job_type = "node_upgrade",
                         .status = status, .created_at = created, .last_fetch_ok = true, .has_details = true};
}

ief::LandingPage Page(std::vector<ief::LandingJob> jobs) {
  ief::LandingPage page;
  page.now = kNow;
  page.last_round_seconds = 0.5;
  page.projects = {{.project_id = "p1", .has_answered = true, .up = true}};
  page.jobs = std::move(jobs);
  return page;
}

// The job ids of the table's rows, top to bottom.
std::vector<std::string> RowIds(const std::string& html) {
  std::vector<std::string> ids;
  static const std::regex row("<tr data-job-id=\"([^\"]*)\">");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), row); it != std::sregex_iterator(); ++it) {
    ids.push_back((*it)[1]);
  }
  return ids;
}

// The HTML of one job's row (empty if it has none).
std::string Row(const std::string& html, const std::string& escaped_id) {
  size_t start = html.find("<tr data-job-id=\"" + escaped_id + "\">");
  if (start == std::string::npos) return "";
  return html.substr(start, html.find("</tr>", start) + 5 - start);
}

// What a reader sees of some HTML without CSS: the text between the tags, entities left as they are.
std::string Text(const std::string& html) { return std::regex_replace(html, std::regex("<[^>]*>"), ""); }

}  // namespace

TEST_CASE("landing page: jobs newest first, jobs of unknown age last") {
  auto page = Page({Job("old", kNow - hours(30)), Job("unknown", std::nullopt), Job("newest", kNow - seconds(5)),
                    Job("middle", kNow - hours(2)), Job("b-same", kNow - hours(5)), Job("a-same", kNow - hours(5))});
  std::string html = ief::RenderLandingPage(page);
  CHECK(RowIds(html) == std::vector<std::string>{"newest", "middle", "a-same", "b-same", "old", "unknown"});
}

TEST_CASE("landing page: the newest jobs only, above the cap, with a note saying how many are left out") {
  std::vector<ief::LandingJob> jobs;
  for (int i = 0; i < 10'000; ++i) jobs.push_back(Job("job-" + std::to_string(i), kNow - minutes(10'000 - i)));
  jobs[17].status = "Failed";
  auto page = Page(std::move(jobs));
  auto started = std::chrono::steady_clock::now();
  std::string html = ief::RenderLandingPage(page);
  auto took = std::chrono::steady_clock::now() - started;
  std::vector<std::string> ids = RowIds(html);
  REQUIRE(ids.size() == ief::kLandingPageMaxJobs);
  CHECK(ids.front() == "job-9999");
  CHECK(ids.back() == "job-9500");
  CHECK_THAT(html, Contains("Showing the newest 500 of 10000 jobs; 9500 older ones are left out"));
  // The counts cover every job, those left out of the table too.
  CHECK_THAT(Text(html), Contains("10000 tracked: Running 9999 Failed 1"));
  CHECK(html.size() < 1'000'000);
  // Generous (sanitizers, a loaded machine): the point is that 10,000 jobs are not quadratic.
  CHECK(took < seconds(2));

  page.max_jobs = 20'000;
  CHECK(RowIds(ief::RenderLandingPage(page)).size() == 10'000);
  CHECK_THAT(ief::RenderLandingPage(page), !Contains("Showing the newest"));
}

TEST_CASE("landing page: progress shows succeeded, failed and remaining tasks as numbers and a bar") {
  auto job = Job("j", kNow - hours(1));
  job.tasks_total = 8;
  job.tasks_succeeded = 4;
  job.tasks_failed = 2;
  auto empty = Job("no-tasks", kNow - hours(2));
  auto odd = Job("odd", kNow - hours(3));  // the API's counts can contradict each other
  odd.tasks_total = 1;
  odd.tasks_succeeded = 3;
  odd.tasks_failed = 1;
  std::string html = ief::RenderLandingPage(Page({job, empty, odd}));

  std::string row = Row(html, "j");
  CHECK_THAT(Text(row), Contains("4 succeeded, 2 failed, 2 remaining of 8"));
  CHECK_THAT(row, Contains("<span class=\"seg-ok\" style=\"width:50.00%\"></span>"));
  CHECK_THAT(row, Contains("<span class=\"seg-failed\" style=\"width:25.00%\"></span>"));
  CHECK_THAT(Text(Row(html, "no-tasks")), Contains("no tasks yet"));
  CHECK_THAT(Text(Row(html, "odd")), Contains("3 succeeded, 1 failed, 0 remaining of 4"));
  CHECK_THAT(Row(html, "odd"), Contains("width:75.00%"));
}

TEST_CASE("landing page: ages read like 3h 12m") {
  CHECK(ief::FormatAge(kNow - seconds(45), kNow) == "45s");
  CHECK(ief::FormatAge(kNow, kNow) == "0s");
  CHECK(ief::FormatAge(kNow + minutes(5), kNow) == "0s");  // the API's clock ahead of ours
  CHECK(ief::FormatAge(kNow - minutes(12) - seconds(59), kNow) == "12m");
  CHECK(ief::FormatAge(kNow - hours(3) - minutes(12), kNow) == "3h 12m");
  CHECK(ief::FormatAge(kNow - hours(1), kNow) == "1h 0m");
  CHECK(ief::FormatAge(kNow - hours(52) - minutes(30), kNow) == "2d 4h");
  CHECK(ief::FormatAge(ief::FromUnixSeconds(0), kNow) == "19844d 12h");

  std::string html = ief::RenderLandingPage(Page({Job("j", kNow - hours(3) - minutes(12)), Job("u", std::nullopt)}));
  CHECK_THAT(Row(html, "j"), Contains("<td class=\"num\">3h 12m</td>"));
  CHECK_THAT(Row(html, "u"), Contains("<td class=\"num\">&ndash;</td>"));
}

TEST_CASE("landing page: everything from the API is escaped, in text and in attributes") {
  auto job = Job("id\"><img src=x onerror=alert(1)>", kNow - hours(1), "Fail<ed>");
  job.job_name = "<b>bold</b><script>alert(1)</script> & 'quoted' \"too\"";
  job.job_type = "<i>type</i>";
  job.project_id = "<u>p2</u>";
  job.tasks_total = 3;
  job.tasks_failed = 3;
  job.top_reasons = {{"<img src=x onerror=alert(2)> & \"reason\"", 2}, {"plain", 1}};
  auto page = Page({job});
  page.projects.push_back({.project_id = "<svg onload=alert(3)>", .has_answered = true});
  std::string html = ief::RenderLandingPage(page);

  for (const char* injected : {"<b>bold", "<script", "<img", "<i>type", "<u>p2", "<svg", "'quoted'"}) {
    INFO(injected);
    CHECK_THAT(html, !Contains(injected));
  }
  CHECK_THAT(html, Contains("&lt;b&gt;bold&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;quoted&#39; "
                            "&quot;too&quot;"));
  CHECK_THAT(html, Contains("<tr data-job-id=\"id&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\">"));
  CHECK_THAT(html, Contains("&lt;i&gt;type&lt;/i&gt;"));
  CHECK_THAT(html, Contains("<tr><th>Job</th><th>Project</th><th>Status</th>"));  // two projects: a column
  CHECK_THAT(html, Contains("<td><code>&lt;u&gt;p2&lt;/u&gt;</code></td>"));
  CHECK_THAT(html, Contains("<span class=\"badge s-other\">Fail&lt;ed&gt;</span>"));
  CHECK_THAT(html, Contains("<li>2 &times; &lt;img src=x onerror=alert(2)&gt; &amp; &quot;reason&quot;</li>"));
  CHECK_THAT(html, Contains("<code>&lt;svg onload=alert(3)&gt;</code>"));
  CHECK(ief::HtmlEscape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
}

TEST_CASE("landing page: long failure reasons are cut at a character, the longer text on hover") {
  auto job = Job("j", kNow - hours(1));
  // 119 ASCII bytes then "é" (2 bytes): a cut at 120 bytes would split it.
  std::string reason = std::string(119, 'x') + "\xC3\xA9" + std::string(2000, 'y') + "<end>";
  job.top_reasons = {{reason, 7}};
  std::string row = Row(ief::RenderLandingPage(Page({job})), "j");
  CHECK_THAT(row, Contains(">7 &times; " + std::string(119, 'x') + "&hellip;</li>"));
  CHECK_THAT(row, Contains("title=\"" + std::string(119, 'x') + "\xC3\xA9" + std::string(879, 'y') + "\""));
  CHECK_THAT(row, !Contains("<end>"));
  CHECK_THAT(row, !Contains("&lt;end&gt;"));
}

TEST_CASE("landing page: the exporter's health, its links and version") {
  ief::LandingPage page = Page({});
  page.telemetry_path = "/custom/metrics";
  page.last_round_seconds = 1.25;
  page.projects = {{.project_id = "up-project", .has_answered = true, .up = true,
                    .history_since = kNow - std::chrono::minutes(192)},
                   {.project_id = "down-project", .has_answered = true, .up = false},
                   {.project_id = "new-project", .has_answered = false}};
  page.endpoints = {{.endpoint = "https://ief.example", .rate = 10, .ceiling = 20},
                    {.endpoint = "https://other.example", .rate = 2.5, .ceiling = 2.5}};
  std::string html = ief::RenderLandingPage(page);
  std::string text = Text(html);
  CHECK_THAT(html, Contains("<tr><td><code>up-project</code></td><td><span class=\"badge up\">up</span></td>"
                            "<td>2024-05-01 08:48:00 UTC (3h 12m ago)</td></tr>"));
  CHECK_THAT(html, Contains("<th>History counted since</th>"));
  CHECK_THAT(html, Contains("<tr><td><code>down-project</code></td><td><span class=\"badge down\">down</span>"));
  CHECK_THAT(html, Contains("<tr><td><code>new-project</code></td><td><span class=\"badge\">not asked yet</span>"));
  CHECK_THAT(text, Contains("Last poll round: 1.25 s"));
  CHECK_THAT(text, Contains("https://ief.example10 req/s slowed down20 req/s"));
  CHECK_THAT(text, Contains("https://other.example2.5 req/s2.5 req/s"));
  CHECK_THAT(html, Contains("<a href=\"/custom/metrics\">Metrics</a>"));
  CHECK_THAT(html, Contains("<a href=\"/-/healthy\">Health</a>"));
  CHECK_THAT(html, Contains("<a href=\"/-/ready\">Readiness</a>"));
  CHECK_THAT(text, Contains("as of 2024-05-01T12:00:00Z"));
  CHECK(std::regex_search(html, std::regex("version \\d+\\.\\d+\\.\\d+ \\(revision [0-9a-z]+\\)")));
  // Nothing for a browser to run or fetch.
  CHECK_THAT(html, !Contains("<script"));
  CHECK_THAT(html, !Contains("src="));
  CHECK_THAT(html, !Contains("<link"));
  CHECK_THAT(html, !Contains("url("));
}

TEST_CASE("landing page: empty states before and after the first poll round") {
  ief::LandingPage page;
  page.now = kNow;
  std::string before_html = ief::RenderLandingPage(page);
  std::string before = Text(before_html);
  CHECK_THAT(before, Contains("No job tracked yet: the first poll round is still running."));
  CHECK_THAT(before, Contains("Last poll round: none finished yet"));
  CHECK_THAT(before, Contains("No project configured."));
  CHECK(RowIds(before_html).empty());
  CHECK_THAT(before_html, !Contains("<table id=\"job-table\""));

  page.last_round_seconds = 0.02;
  std::string after = Text(ief::RenderLandingPage(page));
  CHECK_THAT(after, Contains("No job tracked: the config lists none and discovery found none."));
  CHECK_THAT(after, Contains("Last poll round: 20 ms"));
  page.last_round_seconds = 0.0001;
  CHECK_THAT(Text(ief::RenderLandingPage(page)), Contains("Last poll round: under 1 ms"));
}

TEST_CASE("landing page: a job known only from the list, and one whose fetch failed") {
  ief::Snapshot snapshot;
  snapshot.projects = {{.project_id = "p1", .has_answered = true, .up = true}};
  snapshot.has_completed_round = true;
  snapshot.last_round_seconds = 0.3;

  auto listed = std::make_shared<ief::JobSnapshot>();
  listed->project_id = "p1";
  listed->job_id = "listed";
  listed->source = ief::JobSource::kDiscovery;
  listed->last_fetch_ok = true;
  ief::BatchJob summary{.job_id = "listed", .job_name = "from the list", .job_type = "deployment_upgrade",
                        .created_at = 1714564800 - 600, .status = "Running", .task_total_count = 10,
                        .task_failed_count = 1, .task_success_count = 6};
  listed->last_good = std::make_shared<ief::BatchJob>(summary);

  auto detailed = std::make_shared<ief::JobSnapshot>();
  detailed->project_id = "p1";
  detailed->job_id = "detailed";
  detailed->has_details = true;
  detailed->last_fetch_ok = false;  // the latest fetch failed: the last known stays
  ief::BatchJob details{.job_id = "detailed", .job_name = "with details", .created_at = 1714564800 - 7200,
                        .status = "Failed", .task_total_count = 99};
  detailed->last_good = std::make_shared<ief::BatchJob>(details);
  detailed->tally = std::make_shared<ief::TaskTally>(
      ief::TaskTally{.total = 3, .succeeded = 0, .failed = 3, .top_reasons = {{"edge node is offline", 3}}});

  auto missing = std::make_shared<ief::JobSnapshot>();  // listed under jobs:, answers 404
  missing->project_id = "p1";
  missing->job_id = "missing";

  auto absurd = std::make_shared<ief::JobSnapshot>();  // a created_at no time point can hold
  absurd->project_id = "p1";
  absurd->job_id = "absurd";
  absurd->last_fetch_ok = true;
  absurd->last_good = std::make_shared<ief::BatchJob>(ief::BatchJob{.job_id = "absurd", .created_at = INT64_MAX});
  snapshot.jobs = {absurd, detailed, listed, missing};

  ief::LandingPage page =
      ief::LandingPageFrom(snapshot, {{"http://sim", ief::RateLimiterStats{.rate = 5, .ceiling = 20}}}, kNow);
  REQUIRE(page.jobs.size() == 4);
  CHECK(page.last_round_seconds == 0.3);
  REQUIRE(page.endpoints.size() == 1);
  CHECK(page.endpoints[0].rate == 5);
  CHECK(page.endpoints[0].ceiling == 20);
  CHECK_FALSE(page.jobs[0].created_at.has_value());

  std::string html = ief::RenderLandingPage(page);
  CHECK(RowIds(html) == std::vector<std::string>{"listed", "detailed", "absurd", "missing"});
  std::string listed_row = Text(Row(html, "listed"));
  CHECK_THAT(listed_row, Contains("from the list"));
  CHECK_THAT(listed_row, Contains("Running"));
  CHECK_THAT(listed_row, Contains("from the job list, details pending"));
  CHECK_THAT(listed_row, Contains("6 succeeded, 1 failed, 3 remaining of 10"));  // the API's counts
  CHECK_THAT(listed_row, Contains("10m"));
  std::string detailed_row = Text(Row(html, "detailed"));
  CHECK_THAT(detailed_row, Contains("0 succeeded, 3 failed, 0 remaining of 3"));  // counted from tasks[]
  CHECK_THAT(detailed_row, Contains("last fetch failed, showing the last known"));
  CHECK_THAT(detailed_row, Contains("3 &times; edge node is offline"));
  CHECK_THAT(detailed_row, Contains("2h 0m"));
  CHECK_THAT(Text(Row(html, "missing")), Contains("unknown"));
  CHECK_THAT(Text(Row(html, "missing")), Contains("no data: fetch failed or pending"));
  CHECK_THAT(Row(html, "absurd"), Contains("<td class=\"num\">&ndash;</td>"));
  CHECK_THAT(html, Contains("<tr><th>Job</th><th>Status</th>"));  // one project: no column for it
}

TEST_CASE("landing page route: HTML that the browser may not run scripts in") {
  prometheus::Registry registry;
  ief::Exposition exposition;
  ief::ExporterWebOptions options{.landing_page = [] { return Page({Job("j", kNow)}); }};
  auto routes = ief::ExporterRoutes(options, exposition, [] { return true; }, [] { return ief::Status::Ok(); });
  auto route = std::find_if(routes.begin(), routes.end(), [](const ief::Route& r) { return r.path == "/"; });
  REQUIRE(route != routes.end());
  ief::ServerRequest request;
  request.method = "GET";
  request.path = "/";
  ief::ServerReply reply = route->handler(request);
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "text/html; charset=utf-8");
  CHECK(RowIds(reply.body) == std::vector<std::string>{"j"});
  using Header = std::pair<std::string, std::string>;
  CHECK(std::count(reply.headers.begin(), reply.headers.end(),
                   Header{"Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; "
                                                     "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"}) == 1);
  CHECK(std::count(reply.headers.begin(), reply.headers.end(), Header{"X-Content-Type-Options", "nosniff"}) == 1);
  request.method = "POST";
  CHECK(route->handler(request).status == 405);
}
