// A broken or hostile API, played by ief_simulator: a list that ignores offset or misstates job_count, a gateway
// that answers 429 to everything for 40 s, an IAM whose token expiry is already past; and a scraper that refuses
// gzip. Nothing may flood the API, grow without bound or truncate silently, and SIGTERM exits within 2 s after each.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "support/fixtures.h"
#include "support/integration.h"
#include "support/prompt_stop.h"

using namespace ief::testing;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";

RunningProcess StartSimulator(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                   std::string("--project-id=") + kProject, "--phase-seconds=1000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return StartListening(argv);
}

std::string Config(const std::string& endpoint, const std::string& poll_interval, const std::string& auth,
                   const std::string& tracking = "    discovery: {enabled: true}\n") {
  return "global:\n  poll_interval: " + poll_interval + "\n  request_timeout: 1s\n"
         "projects:\n  - project_id: " + std::string(kProject) + "\n    endpoint: " + endpoint +
         "\n    auth: " + auth + "\n" + tracking;
}

std::string ProjectSeries(const std::string& name, const std::string& extra_labels = "") {
  return name + "{project_id=\"" + kProject + "\"" + extra_labels + "}";
}

double TrackedDiscovered(const RunningProcess& exporter) {
  auto m = Scrape(exporter);
  return Value(m, ProjectSeries("ief_tracked_jobs", ",source=\"discovery\",phase=\"active\"")).value_or(0) +
         Value(m, ProjectSeries("ief_tracked_jobs", ",source=\"discovery\",phase=\"finished\"")).value_or(0);
}

}  // namespace

TEST_CASE("a list that ignores offset and claims 10^12 jobs costs two calls a walk and no memory") {
  RunningProcess sim = StartSimulator({"--jobs=150"});
  REQUIRE_FALSE(sim.url.empty());
  REQUIRE(Http("PUT", sim.url + "/sim/list", R"({"ignore_offset": true, "job_count": 1000000000000})").status == 200);
  TempFile config(Config(sim.url, "1s", "{token: demo-token}"), ".yml");
  RunningProcess exporter = StartExporter(config.path());
  INFO(exporter.process->Output());
  REQUIRE_FALSE(exporter.url.empty());
  const long rss_at_start_kb = exporter.process->StatusKilobytes("VmRSS");

  // A 10 s window with a list walk due every second: each walk reads page 1, sees page 2 repeat it, and stops (it
  // read up to 10,000 pages: 2,432 calls in 40 s and 900 MB more before).
  const long lists_before = SimulatorCount(sim, "list");
  std::this_thread::sleep_for(std::chrono::seconds(10));  // the measurement window itself
  const long lists = SimulatorCount(sim, "list") - lists_before;
  CHECK(lists >= 2 * 8);
  CHECK(lists <= 2 * 11);
  CHECK(TrackedDiscovered(exporter) == 100);  // the jobs the list really shows
  const std::string cuts = ProjectSeries("ief_discovery_list_walks_cut_total", ",reason=\"nothing_new\"");
  CHECK(Value(Scrape(exporter), cuts) >= 8);
  CHECK(Occurrences(exporter.process->Output(), "level=warn msg=\"Job list walk cut") == 1);  // logged once
  const long peak_kb = exporter.process->StatusKilobytes("VmHWM");
  INFO("RSS at start " << rss_at_start_kb << " kB, peak " << peak_kb << " kB");
  CHECK(peak_kb - rss_at_start_kb < 64 * 1024);  // growth (ASan's own memory comes on top): was 900 MB
  CheckStopsPromptly(exporter);
}

TEST_CASE("a job_count that is missing, zero, negative or short never truncates the list, and says so") {
  RunningProcess sim = StartSimulator({"--jobs=250"});
  REQUIRE_FALSE(sim.url.empty());
  for (const std::string count : {"null", "0", "-7", "100"}) {
    INFO("job_count " << count);
    REQUIRE(Http("PUT", sim.url + "/sim/list", R"({"job_count": )" + count + "}").status == 200);
    TempFile config(Config(sim.url, "1s", "{token: demo-token}"), ".yml");
    RunningProcess exporter = StartExporter(config.path());
    REQUIRE_FALSE(exporter.url.empty());
    CHECK(TrackedDiscovered(exporter) == 250);  // after the first round: was 100, the first page
    const std::string expected_warning = count == "100" ? "Job list holds more jobs than its job_count"
                                                        : "Job list without a usable job_count";
    CHECK(Occurrences(exporter.process->Output(), "level=warn msg=\"" + expected_warning) == 1);
    CheckStopsPromptly(exporter);
  }
}

TEST_CASE("after 40 s of 429s the list is back to its interval within seconds of the gateway's recovery") {
  RunningProcess sim = StartSimulator({"--jobs=5"});
  REQUIRE_FALSE(sim.url.empty());
  TempFile config(Config(sim.url, "2s", "{token: demo-token}"), ".yml");
  RunningProcess exporter = StartExporter(config.path());
  INFO(exporter.process->Output());
  REQUIRE_FALSE(exporter.url.empty());
  const std::string rate = "ief_api_rate_limit_requests_per_second{endpoint=\"" + sim.url + "\"}";

  REQUIRE(Http("PUT", sim.url + "/sim/faults/*", R"({"kind": "http_429", "retry_after": 1})").status == 200);
  const long lists_before = SimulatorCount(sim, "list"), shows_before = SimulatorCount(sim, "show");
  std::this_thread::sleep_for(std::chrono::seconds(40));  // the outage itself
  const long outage_lists = SimulatorCount(sim, "list") - lists_before;
  const long outage_requests = outage_lists + SimulatorCount(sim, "show") - shows_before;
  CHECK(Value(Scrape(exporter), rate) >= 1);  // the floor: a twentieth of rate_limit (was 0.038)
  REQUIRE(Http("DELETE", sim.url + "/sim/faults/*").status == 200);
  INFO("during the outage: " << outage_lists << " list calls, " << outage_requests << " requests");
  CHECK(outage_lists >= 10);        // the list was never starved...
  CHECK(outage_requests <= 2 * 40);  // ...and the gateway never hammered

  // The gateway is back: within a few seconds the list goes every 2 s again (was one call every 26 s for ~5 min).
  std::this_thread::sleep_for(std::chrono::seconds(4));
  const long lists_at = SimulatorCount(sim, "list");
  std::this_thread::sleep_for(std::chrono::seconds(20));  // the measurement window
  const long recovered_lists = SimulatorCount(sim, "list") - lists_at;
  INFO("list calls in the 20 s from 4 s after the recovery: " << recovered_lists);
  CHECK(recovered_lists >= 9);
  CHECK(recovered_lists <= 11);
  CHECK(Value(Scrape(exporter), ProjectSeries("ief_up")) == 1);
  CheckStopsPromptly(exporter);
}

TEST_CASE("an IAM token whose expiry is already past costs one login, not one a round, and its skew is exported") {
  RunningProcess sim = StartSimulator({"--jobs=2", "--iam-token-lifetime=1h"});
  REQUIRE_FALSE(sim.url.empty());
  REQUIRE(Http("PUT", sim.url + "/sim/iam", R"({"expires_in": -3600})").status == 200);
  TempFile config(Config(sim.url, "1s",
                         "\n      iam: {endpoint: " + sim.url +
                             ", domain: demo-domain, user: demo-user, password: demo-password}"),
                  ".yml");
  RunningProcess exporter = StartExporter(config.path());
  INFO(exporter.process->Output());
  REQUIRE_FALSE(exporter.url.empty());
  // 20 poll rounds (one a second): one login (there were 31 a minute, one a round).
  std::this_thread::sleep_for(std::chrono::seconds(20));  // the measurement window itself
  CHECK(SimulatorCount(sim, "iam_issued") == 1);
  auto m = Scrape(exporter);
  CHECK(Value(m, ProjectSeries("ief_up")) == 1);
  CHECK(Value(m, ProjectSeries("ief_auth_token_clock_skew_seconds")).value_or(0) == Approx(-3600).margin(5));
  CHECK(Occurrences(exporter.process->Output(), "level=warn msg=\"IAM token times do not fit") == 1);
  CheckStopsPromptly(exporter);
}

TEST_CASE("a scraper that refuses gzip with q=0 gets plain text from the running exporter") {
  TempFile config("projects: []\n", ".yml");
  RunningProcess exporter = StartExporter(config.path());
  REQUIRE_FALSE(exporter.url.empty());
  for (const std::string accept : {"gzip;q=0.0", "gzip; q=0.000", "gzip", "identity;q=0.5, gzip;q=0"}) {
    INFO(accept);
    std::string output;
    REQUIRE(RunCommand({"/usr/bin/curl", "-sS", "-D", "-", "-H", "Accept-Encoding: " + accept,
                        exporter.url + "/metrics"},
                       "", output) == 0);
    const bool gzipped = output.find("Content-Encoding: gzip") != std::string::npos;
    CHECK(gzipped == (accept == "gzip"));
    if (!gzipped) CHECK_THAT(output, Catch::Contains("# HELP ief_exporter_build_info"));
  }
  CheckStopsPromptly(exporter);
}
