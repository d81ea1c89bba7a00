// The landing page as a person sees it: Debian's headless Chromium loads `/` from the real ief_exporter (behind
// basic auth) fed by the real ief_simulator, and the test reads the DOM Chromium built and takes a screenshot
// (build/test-artifacts/landing_page.png, not committed). Every wait has a deadline; everything is on loopback.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <vector>

#include "support/bcrypt.h"
#include "support/browser.h"
#include "support/fixtures.h"
#include "support/integration.h"
#include "support/raw_client.h"
#include "upstream/http/curl_transport.h"

using namespace ief::testing;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";
constexpr const char* kToken = "demo-token";
constexpr const char* kPassword = "landing-secret";
constexpr const char* kHtmlJob = "html-job";
constexpr const char* kHtmlName = "<b>bold</b><script>alert(1)</script>";
constexpr const char* kHtmlReason = "pull of \"<img src=x onerror=alert(2)>\" & retry failed";

// A job whose name and failure reason are HTML, in the simulator's fixed-document form (what ShowBatchJob
// answers; the list shows its summary).
std::string HtmlJobDocument() {
  nlohmann::json task = {{"task_id", "t-1"}, {"task_name", "t-1"}, {"status", "Failed"},
                         {"reason", kHtmlReason}, {"target_id", "node-1"}};
  nlohmann::json job = {{"job_id", kHtmlJob},       {"job_name", kHtmlName},
                        {"job_type", "deployment_upgrade"}, {"status", "Failed"},
                        // Seconds after the generated jobs (made when the simulator started, maybe this very
                        // second): it must be the newest, whatever the clock's tick.
                        {"created_at", time(nullptr) + 2}, {"status_last_updated_at", time(nullptr)},
                        {"task_total_count", 2},          {"task_failed_count", 2},
                        {"task_success_count", 0},        {"tasks", {task, task}}};
  job["tasks"][1]["task_id"] = "t-2";
  job["tasks"][1]["target_id"] = "node-2";
  return job.dump();
}

ief::testing::TestResponse Get(const std::string& url,
                               std::vector<std::pair<std::string, std::string>> headers = {}) {
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.url = url;
  request.headers = std::move(headers);
  ief::Result<ief::HttpResponse> response = transport.Send(request);
  if (!response.ok()) return {.error = response.error().message};
  return {.status = response->status, .body = response->body};
}

ief::testing::TestResponse GetAuthorized(const std::string& url, const std::string& authorization) {
  return Get(url, {{"Authorization", authorization}});
}

// What the simulator itself says: job id -> status, from its ListBatchJob.
std::map<std::string, std::string> SimulatorStatuses(const RunningProcess& simulator) {
  auto list = Get(simulator.url + "/v2/" + kProject + "/productmgr/jobs?limit=100&offset=0", {{"X-Auth-Token", kToken}});
  std::map<std::string, std::string> statuses;
  if (list.status != 200) return statuses;
  nlohmann::json doc = nlohmann::json::parse(list.body, nullptr, false);
  if (!doc.is_object() || !doc["jobs"].is_array()) return statuses;
  for (const auto& job : doc["jobs"]) statuses[job.value("job_id", "")] = job.value("status", "");
  return statuses;
}

std::string ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The text a reader sees in some serialized DOM: tags dropped, the entities a serializer writes decoded.
std::string VisibleText(const std::string& html) {
  std::string text = std::regex_replace(html, std::regex("<[^>]*>"), " ");
  const std::pair<const char*, const char*> kEntities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "}, {"&amp;", "&"}};
  for (const auto& [entity, character] : kEntities) {
    for (size_t at = text.find(entity); at != std::string::npos; at = text.find(entity, at + 1)) {
      text.replace(at, std::string_view(entity).size(), character);
    }
  }
  return std::regex_replace(text, std::regex("\\s+"), " ");
}

// Each job row of the page (by the id in its data-job-id attribute): its visible text.
std::map<std::string, std::string> JobRows(const std::string& dom) {
  std::map<std::string, std::string> rows;
  static const std::regex row("<tr data-job-id=\"([^\"]*)\">([\\s\\S]*?)</tr>");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), row); it != std::sregex_iterator(); ++it) {
    rows[VisibleText((*it)[1])] = VisibleText((*it)[2]);
  }
  return rows;
}

// The status badge's text in a row's HTML.
std::string BadgeText(const std::string& dom, const std::string& job_id) {
  std::smatch match;
  std::regex badge("<tr data-job-id=\"" + job_id + "\">[\\s\\S]*?<span class=\"badge [a-z-]+\">([^<]*)</span>");
  return std::regex_search(dom, match, badge) ? std::string(match[1]) : "";
}

// The simulator with 8 generated jobs of 4 tasks (phases of 2 s: within seconds 2 succeed, 2 partly fail, 2 fail
// and 2 keep running for a minute) plus the job named in HTML; the exporter discovers them, behind basic auth.
struct BrowserStack {
  BrowserStack()
      : simulator(StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                  std::string("--project-id=") + kProject, std::string("--token=") + kToken,
                                  "--jobs=8", "--tasks=4", "--phase-seconds=2"})),
        web_config("basic_auth_users:\n  prometheus: " + BcryptHash(kPassword, 6) + "\n", ".yml"),
        config("global:\n  poll_interval: 1s\n  request_timeout: 2s\nprojects:\n  - project_id: " +
                   std::string(kProject) + "\n    endpoint: " + simulator.url + "\n    auth: {token: " + kToken +
                   "}\n    discovery:\n      enabled: true\n",
               ".yml") {
    REQUIRE_FALSE(simulator.url.empty());
    REQUIRE(Http("PUT", simulator.url + "/sim/jobs/" + kHtmlJob, HtmlJobDocument()).status == 200);
    exporter = StartListening({IEF_EXPORTER_BIN, "--config.file=" + config.path(),
                               "--web.config.file=" + web_config.path(), "--web.listen-address=127.0.0.1:0"});
    REQUIRE_FALSE(exporter.url.empty());
    authorization = BasicAuthorization(std::string("prometheus:") + kPassword);
    REQUIRE(Eventually([&] { return GetAuthorized(exporter.url + "/-/ready", authorization).status == 200; }));
    // http://prometheus:PASSWORD@127.0.0.1:PORT/: Chromium sends basic auth for credentials in the URL.
    page_url = "http://prometheus:" + std::string(kPassword) + "@" + exporter.url.substr(std::string("http://").size()) + "/";
  }

  RunningProcess simulator;
  TempFile web_config;
  TempFile config;
  RunningProcess exporter;
  std::string authorization;
  std::string page_url;
};

bool IsFinished(const std::string& status) { return status != "Waiting" && status != "Running"; }

}  // namespace

TEST_CASE("landing page in a real browser: every job with its status, names in HTML shown as text") {
  BrowserStack stack;
  HeadlessChromium chromium;

  // Settled: the simulator's short jobs have finished (the long ones run for a minute more), and the exporter has
  // their details, whose failure reasons the page shows.
  std::map<std::string, std::string> expected;
  REQUIRE(Eventually(
      [&] {
        expected = SimulatorStatuses(stack.simulator);
        return expected.size() == 9 &&
               std::count_if(expected.begin(), expected.end(), [](const auto& job) { return IsFinished(job.second); }) == 7;
      },
      std::chrono::seconds(30)));

  std::string dom;
  std::map<std::string, std::string> rows;
  bool settled = Eventually(
      [&] {
        std::optional<std::string> loaded = chromium.DumpDom(stack.page_url);
        if (!loaded) return false;
        dom = *loaded;
        rows = JobRows(dom);
        if (rows.size() != expected.size()) return false;
        for (const auto& [job_id, status] : expected) {
          if (BadgeText(dom, job_id) != status) return false;
        }
        // Every job that failed tasks shows its reasons once the details are in.
        return std::all_of(expected.begin(), expected.end(), [&](const auto& job) {
          return (job.second != "Failed" && job.second != "Partially_successful") ||
                 rows[job.first].find(" × ") != std::string::npos;
        });
      },
      std::chrono::seconds(45));
  INFO("chromium log:\n" << chromium.log() << "\nDOM:\n" << dom);
  REQUIRE(settled);

  for (const auto& [job_id, status] : expected) {
    INFO(job_id);
    CHECK(BadgeText(dom, job_id) == status);
    CHECK_THAT(rows[job_id], Catch::Contains(job_id));
  }
  // A generated failed job: all 4 tasks failed, with the simulator's reasons.
  auto failed = std::find_if(expected.begin(), expected.end(),
                             [](const auto& job) { return job.second == "Failed" && job.first != kHtmlJob; });
  REQUIRE(failed != expected.end());
  CHECK_THAT(rows[failed->first], Catch::Contains("0 succeeded, 4 failed, 0 remaining of 4"));
  // Its 4 tasks failed for 4 different reasons, one each: the 3 the page keeps, each one of the simulator's.
  CHECK(Occurrences(rows[failed->first], "1 × ") == 3);
  CHECK(Occurrences(rows[failed->first], "edge node is offline") + Occurrences(rows[failed->first], "OOMKilled") +
            Occurrences(rows[failed->first], "image pull failed") +
            Occurrences(rows[failed->first], "insufficient memory on node") ==
        3);

  // The HTML in the job's name and reason is text on the page, and no element came from it.
  const std::string& html_row = rows[kHtmlJob];
  CHECK_THAT(html_row, Catch::Contains(kHtmlName));
  CHECK_THAT(html_row, Catch::Contains(std::string("2 × ") + kHtmlReason));
  CHECK_THAT(html_row, Catch::Contains("0 succeeded, 2 failed, 0 remaining of 2"));
  CHECK_THAT(dom, !Catch::Contains("<script"));
  CHECK_THAT(dom, !Catch::Contains("<img"));
  CHECK_THAT(dom, !Catch::Contains("<b>bold"));
  // Newest first: the HTML job was made last (now), the generated ones are staggered into the past.
  CHECK(dom.find("data-job-id=\"html-job\"") < dom.find("<tr data-job-id=\"5e1a"));

  // The exporter's own health.
  std::string text = VisibleText(dom);
  CHECK_THAT(text, Catch::Contains(std::string(kProject) + " up"));
  CHECK_THAT(text, Catch::Contains(stack.simulator.url + " 20 req/s"));
  CHECK(std::regex_search(text, std::regex("Last poll round: [0-9.]+ (ms|s)")));
  CHECK_THAT(text, Catch::Contains("9 tracked:"));

  // A screenshot for people to look at (kept in the build tree as a test artifact).
  const std::filesystem::path artifacts = IEF_TEST_ARTIFACTS_DIR;
  std::filesystem::create_directories(artifacts);
  const std::filesystem::path png = artifacts / "landing_page.png";
  std::filesystem::remove(png);
  INFO("chromium log:\n" << chromium.log());
  REQUIRE(chromium.Screenshot(stack.page_url, png.string(), 1400, 1000));
  REQUIRE(std::filesystem::exists(png));
  std::string bytes = ReadBytes(png);
  CHECK(bytes.substr(0, 8) == "\x89PNG\r\n\x1a\n");
  // IHDR: width and height, big-endian, at bytes 16..23.
  auto be32 = [&](size_t at) {
    return (static_cast<unsigned char>(bytes[at]) << 24) | (static_cast<unsigned char>(bytes[at + 1]) << 16) |
           (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]);
  };
  REQUIRE(bytes.size() > 24);
  CHECK(be32(16) == 1400);
  CHECK(be32(20) == 1000);
  CHECK(bytes.size() > 30'000);  // a blank page of this size is a few KB; this one has text, tables and bars
}

TEST_CASE("landing page behind basic auth: 401 without credentials, in a browser too") {
  BrowserStack stack;
  CHECK(Get(stack.exporter.url + "/").status == 401);
  CHECK(GetAuthorized(stack.exporter.url + "/", BasicAuthorization("prometheus:wrong")).status == 401);
  auto allowed = GetAuthorized(stack.exporter.url + "/", stack.authorization);
  CHECK(allowed.status == 200);
  CHECK_THAT(allowed.body, Catch::Contains("<h1>IEF Exporter</h1>"));

  HeadlessChromium chromium;
  std::optional<std::string> refused = chromium.DumpDom(stack.exporter.url + "/");
  INFO("chromium log:\n" << chromium.log());
  // Chromium ends without a page (the log says ERR_INVALID_AUTH_CREDENTIALS), or with the 401 answer's text.
  CHECK_THAT(refused.value_or(""), !Catch::Contains("IEF Exporter"));
  CHECK_THAT(refused.value_or(""), !Catch::Contains(kProject));
}
