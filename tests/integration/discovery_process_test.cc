// Discovery end to end: 25 jobs served 10 per page by ief_simulator, found, filtered, sharded, polled frugally,
// and followed through retries, arrivals and deletions.
#include <catch2/catch.hpp>
#include <optional>
#include <set>
#include <thread>

#include "support/fixtures.h"
#include "support/integration.h"

using namespace ief::testing;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";

std::string DiscoveryConfig(const std::string& endpoint, const std::string& discovery_extra = "") {
  return "global:\n  poll_interval: 1s\n  request_timeout: 2s\n"
         "projects:\n  - project_id: " + std::string(kProject) + "\n    endpoint: " + endpoint +
         "\n    auth: {token: demo-token}\n    discovery:\n      enabled: true\n" + discovery_extra;
}

// Job ids with series on the exporter (from ief_batch_job_scrape_success).
std::set<std::string> TrackedJobIds(const RunningProcess& exporter) {
  std::set<std::string> ids;
  for (const auto& [series, value] : Scrape(exporter)) {
    if (!series.starts_with("ief_batch_job_scrape_success{")) continue;
    size_t start = series.find("job_id=\"") + 8;
    ids.insert(series.substr(start, series.find('"', start) - start));
  }
  return ids;
}

double Tracked(const RunningProcess& exporter, const std::string& source, const std::string& phase) {
  return Value(Scrape(exporter), std::string("ief_tracked_jobs{project_id=\"") + kProject + "\",source=\"" + source +
                                     "\",phase=\"" + phase + "\"}")
      .value_or(-1);
}

std::string Series(const std::string& name, const std::string& job_id, const std::string& extra = "") {
  return name + "{project_id=\"" + kProject + "\",job_id=\"" + job_id + "\"" + extra + "}";
}

// `updated`: seconds after now (the status change has to be recent: finished_job_retention).
std::string FixedJob(const std::string& id, const std::string& status, int updated) {
  return R"({"job_id":")" + id + R"(","job_name":"fixed-)" + id + R"(","job_type":"deployment_upgrade","status":")" +
         status + R"(","created_at":)" + std::to_string(static_cast<long>(time(nullptr))) +
         R"(,"status_last_updated_at":)" + std::to_string(static_cast<long>(time(nullptr)) + updated) +
         R"(,"tasks":[]})";
}

}  // namespace

TEST_CASE("discovery finds every job, polls frugally and follows the jobs' lives") {
  // Phases of 2 s: within seconds every job has finished except the long-running ones (every fourth).
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=25", "--tasks=2",
                                       "--phase-seconds=2", "--max-page-size=10"});
  REQUIRE_FALSE(sim.url.empty());
  TempFile config(DiscoveryConfig(sim.url), ".yml");
  RunningProcess exporter = StartExporter(config.path());
  INFO(exporter.process->Output());
  REQUIRE_FALSE(exporter.url.empty());

  CHECK(Eventually([&] { return TrackedJobIds(exporter).size() == 25; }));
  CHECK(Eventually([&] { return Tracked(exporter, "discovery", "finished") == 19; }));
  CHECK(Tracked(exporter, "discovery", "active") == 6);
  CHECK(Tracked(exporter, "config", "active") == 0);

  // A 10 s window. The list is read every second (3 pages of 10); details are fetched only for jobs whose list
  // summary changed: never for finished jobs, and for running jobs only when a task finished.
  std::set<std::string> tracked = TrackedJobIds(exporter);
  std::vector<std::string> ids(tracked.begin(), tracked.end());
  std::map<std::string, long> before;
  for (const auto& id : ids) before[id] = SimulatorCount(sim, id);
  const long lists_before = SimulatorCount(sim, "list");
  std::this_thread::sleep_for(std::chrono::seconds(10));  // the measurement window itself, not a synchronisation
  long detail_fetches = 0;
  for (const auto& id : ids) detail_fetches += SimulatorCount(sim, id) - before[id];
  CHECK(SimulatorCount(sim, "list") - lists_before >= 8 * 3);
  // 6 running jobs of 2 tasks: a change per task, and now and then a second read when the details were ahead of
  // the list (reading every active job every round would take 60).
  CHECK(detail_fetches <= 20);

  // A failed job retried upstream is seen Running again.
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/retry-me", FixedJob("retry-me", "Failed", 100)).status == 200);
  CHECK(Eventually([&] { return Value(Scrape(exporter), Series("ief_batch_job_status", "retry-me", ",status=\"Failed\"")) == 1.0; },
                   std::chrono::seconds(8)));
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/retry-me", FixedJob("retry-me", "Running", 200)).status == 200);
  CHECK(Eventually([&] { return Value(Scrape(exporter), Series("ief_batch_job_status", "retry-me", ",status=\"Running\"")) == 1.0; },
                   std::chrono::seconds(8)));

  // A deleted job's series go.
  REQUIRE(Http("DELETE", sim.url + "/sim/jobs/" + ids.front()).status == 200);
  CHECK(Eventually([&] { return TrackedJobIds(exporter).count(ids.front()) == 0; }, std::chrono::seconds(8)));
  CHECK(Value(Scrape(exporter), std::string("ief_api_requests_total{code=\"200\",operation=\"list_jobs\",project_id=\"") +
                                    kProject + "\"}") >= 30);
}

TEST_CASE("a name filter keeps the right jobs") {
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=25", "--max-page-size=10"});
  REQUIRE_FALSE(sim.url.empty());
  TempFile config(DiscoveryConfig(sim.url, "      name_regex: 'nightly-node-upgrade-.*'\n"), ".yml");
  RunningProcess exporter = StartExporter(config.path());
  REQUIRE_FALSE(exporter.url.empty());
  // Every third generated job is a nightly node upgrade: 8 of 25.
  CHECK(Eventually([&] { return TrackedJobIds(exporter).size() == 8; }));
  for (const auto& [series, value] : Scrape(exporter)) {
    if (series.starts_with("ief_batch_job_info{")) CHECK_THAT(series, Catch::Contains("job_name=\"nightly-node-upgrade-"));
  }
}

TEST_CASE("two shards split the jobs with no overlap and no gap") {
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=25", "--max-page-size=10"});
  REQUIRE_FALSE(sim.url.empty());
  TempFile config(DiscoveryConfig(sim.url), ".yml");
  RunningProcess first = StartExporter(config.path(), {"--shard=0", "--total-shards=2"});
  RunningProcess second = StartExporter(config.path(), {"--shard=1", "--total-shards=2"});
  REQUIRE_FALSE(first.url.empty());
  REQUIRE_FALSE(second.url.empty());
  std::set<std::string> a, b;
  CHECK(Eventually([&] {
    a = TrackedJobIds(first);
    b = TrackedJobIds(second);
    return a.size() + b.size() == 25;
  }));
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  CHECK(all.size() == 25);
  CHECK(a.size() > 0);
  CHECK(b.size() > 0);
  CHECK(Value(Scrape(second), "ief_exporter_shard_ordinal") == 1.0);
  CHECK(Value(Scrape(second), "ief_exporter_total_shards") == 2.0);
}

TEST_CASE("a throttling gateway slows the exporter down, and every job still shows") {
  // The gateway allows 2 requests/s; rate_limit stays at its default of 20.
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=25", "--max-page-size=10",
                                       "--throttle=2"});
  REQUIRE_FALSE(sim.url.empty());
  TempFile config(DiscoveryConfig(sim.url), ".yml");
  RunningProcess exporter = StartExporter(config.path());
  REQUIRE_FALSE(exporter.url.empty());
  const std::string rate = "ief_api_rate_limit_requests_per_second{endpoint=\"" + sim.url + "\"}";
  CHECK(Eventually([&] { return Value(Scrape(exporter), rate).value_or(20) <= 2; }, std::chrono::seconds(30)));
  CHECK(Eventually([&] { return TrackedJobIds(exporter).size() == 25; }));
  CHECK(SimulatorCount(sim, "throttled") >= 1);
  // Settled: over the next 10 s, hardly a request is refused.
  const long throttled = SimulatorCount(sim, "throttled");
  const long total = SimulatorCount(sim, "list") + SimulatorCount(sim, "show") + throttled;
  std::this_thread::sleep_for(std::chrono::seconds(10));  // the measurement window itself
  const long throttled_later = SimulatorCount(sim, "throttled") - throttled;
  const long total_later = SimulatorCount(sim, "list") + SimulatorCount(sim, "show") + SimulatorCount(sim, "throttled") -
                           total;
  INFO("throttled " << throttled_later << " of " << total_later);
  CHECK(total_later >= 10);
  CHECK(throttled_later * 20 <= total_later);  // at most 5%
}

namespace {

// A job created `days_ago`, finished then (or in `status` since `changed_days_ago`).
std::string OldJob(const std::string& id, int days_ago, const std::string& status = "Successful",
                   std::optional<int> changed_days_ago = std::nullopt) {
  const long now = static_cast<long>(time(nullptr));
  return R"({"job_id":")" + id + R"(","job_name":"old-)" + id + R"(","job_type":"deployment_upgrade","status":")" +
         status + R"(","created_at":)" + std::to_string(now - days_ago * 86400L) + R"(,"status_last_updated_at":)" +
         std::to_string(now - changed_days_ago.value_or(days_ago) * 86400L) + R"(,"tasks":[]})";
}

// List calls in a window of `seconds` (the window itself is the measurement, not a synchronisation).
long ListCallsIn(const RunningProcess& sim, int seconds) {
  const long before = SimulatorCount(sim, "list");
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return SimulatorCount(sim, "list") - before;
}

}  // namespace

TEST_CASE("a long history costs the head of the list, and every change still shows") {
  // 800 jobs that finished a month ago (8 pages of 100), and two still Running that were created 20 days ago.
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=0"});
  REQUIRE_FALSE(sim.url.empty());
  std::string history = OldJob("old-finishing", 20, "Running") + "," + OldJob("old-deleted", 20, "Running");
  for (int i = 0; i < 800; ++i) history += "," + OldJob("done-" + std::to_string(i), 30 + i % 5);
  REQUIRE(Http("POST", sim.url + "/sim/jobs", "[" + history + "]").status == 200);
  TempFile config("global:\n  poll_interval: 1s\n  active_refresh_interval: 3s\nprojects:\n  - project_id: " +
                      std::string(kProject) + "\n    endpoint: " + sim.url +
                      "\n    auth: {token: demo-token}\n    discovery: {enabled: true, full_walk_interval: 10m}\n",
                  ".yml");
  RunningProcess exporter = StartExporter(config.path());
  INFO(exporter.process->Output());
  REQUIRE_FALSE(exporter.url.empty());
  const auto shows = [&](const std::string& id, const std::string& status) {
    return Value(Scrape(exporter), Series("ief_batch_job_status", id, ",status=\"" + status + "\"")) == 1.0;
  };
  REQUIRE(Eventually([&] { return shows("old-finishing", "Running") && shows("old-deleted", "Running"); }));

  // After the start-up walk of the whole list (9 pages), a walk a second reads the head: one page (9 before).
  CHECK(ListCallsIn(sim, 8) <= 8 * 2);

  // A new job shows. The old jobs change deep below the head, where no walk reads until the next full one (10m):
  // their details tell (active_refresh_interval 3s), a finish as a 404.
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/new-one", FixedJob("new-one", "Running", 0)).status == 200);
  CHECK(Eventually([&] { return shows("new-one", "Running"); }, std::chrono::seconds(5)));
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/old-finishing", OldJob("old-finishing", 20, "Failed", 0)).status == 200);
  REQUIRE(Http("DELETE", sim.url + "/sim/jobs/old-deleted").status == 200);
  CHECK(Eventually([&] { return shows("old-finishing", "Failed"); }, std::chrono::seconds(8)));
  CHECK(Eventually([&] { return TrackedJobIds(exporter).count("old-deleted") == 0; }, std::chrono::seconds(8)));
  double finished_failed = 0;  // counted once, by the finish's own time, whatever job_type
  for (const auto& [series, value] : Scrape(exporter)) {
    if (series.starts_with("ief_batch_jobs_finished_total{") && series.find("status=\"Failed\"") != std::string::npos) {
      finished_failed += value;
    }
  }
  CHECK(finished_failed == 1.0);

  // A list that comes oldest first, whatever it was asked: every walk reads it all, and says so once.
  const std::string unsorted_warning = "level=warn msg=\"Job list not sorted newest first";
  REQUIRE(Http("PUT", sim.url + "/sim/list", R"({"unsorted": true})").status == 200);
  REQUIRE(Eventually([&] { return Occurrences(exporter.process->Output(), unsorted_warning) == 1; }));
  CHECK(ListCallsIn(sim, 5) >= 4 * 8);
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/newer-one", FixedJob("newer-one", "Running", 0)).status == 200);
  CHECK(Eventually([&] { return shows("newer-one", "Running"); }, std::chrono::seconds(5)));
  CHECK(Occurrences(exporter.process->Output(), unsorted_warning) == 1);
}
