// A broken or hostile IEF API, end to end: answers that never end, answers that drip, job ids built to break out
// of a URL, an answer about another job. Loopback only; every wait polls with a deadline.
#include <signal.h>

#include <catch2/catch.hpp>
#include <set>

#include "support/fixtures.h"
#include "support/integration.h"

using namespace ief::testing;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";

// Under AddressSanitizer the exporter's memory is the sanitizer's (a quarantine of freed blocks, shadow memory):
// resident sizes say nothing about the exporter's own behaviour there.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMeasuresMemory = false;
#else
constexpr bool kMeasuresMemory = true;
#endif

std::string Series(const std::string& name, const std::string& job_id) {
  return name + "{project_id=\"" + kProject + "\",job_id=\"" + job_id + "\"}";
}

std::string Document(const std::string& job_id, const std::string& status = "Running") {
  return R"({"job_id":)" + job_id + R"(,"job_name":"n","job_type":"node_upgrade","status":")" + status +
         R"(","created_at":)" + std::to_string(time(nullptr)) + R"(,"status_last_updated_at":)" +
         std::to_string(time(nullptr)) + R"(,"task_total_count":1,"tasks":[]})";
}

std::string Quoted(const std::string& id) { return "\"" + id + "\""; }

std::string Config(const std::string& endpoint, const std::string& project_extra, const std::string& global = "") {
  return "global:\n  poll_interval: 1s\n  request_timeout: 2s\n" + global + "projects:\n  - project_id: " +
         std::string(kProject) + "\n    endpoint: " + endpoint + "\n    auth: {token: demo-token}\n" + project_extra;
}

RunningProcess Simulator() {
  return StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                         std::string("--project-id=") + kProject, "--jobs=0"});
}

}  // namespace

TEST_CASE("eight endless answers cost a bounded amount of memory, given back afterwards") {
  RunningProcess sim = Simulator();
  REQUIRE_FALSE(sim.url.empty());
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back("endless-" + std::to_string(i));
    REQUIRE(Http("PUT", sim.url + "/sim/jobs/" + ids.back(), Document(Quoted(ids.back()))).status == 200);
    REQUIRE(Http("PUT", sim.url + "/sim/faults/" + ids.back(), R"({"kind":"endless"})").status == 200);
  }
  // Every running job re-read every round, so the endless answers keep coming for the whole window.
  TempFile config(Config(sim.url, "    discovery: {enabled: true}\n",
                         "  active_refresh_interval: 0s\n  max_retries: 0\n"),
                  ".yml");
  RunningProcess exporter = StartExporter(config.path());
  REQUIRE_FALSE(exporter.url.empty());
  ChildProcess& process = *exporter.process;
  // Wait until every job has had an endless answer refused.
  REQUIRE(Eventually(
      [&] {
        return Value(Scrape(exporter), std::string("ief_api_requests_total{code=\"error\",operation=\"show_job\","
                                                   "project_id=\"") + kProject + "\"}")
                   .value_or(0) >= 16;
      },
      std::chrono::seconds(60)));
  const long peak_kb = process.StatusKilobytes("VmHWM");
  INFO("peak RSS " << peak_kb / 1024 << " MiB");
  CHECK(peak_kb > 0);
  if (kMeasuresMemory) CHECK(peak_kb <= 256 * 1024);
  CHECK_THAT(process.Output(), Catch::Contains("answers in flight exceed the response memory budget") ||
                                   Catch::Contains("response larger than the body cap"));

  // The upstream recovers: every job answers normally again, and the memory goes back.
  REQUIRE(Http("DELETE", sim.url + "/sim/faults/*").status == 200);
  for (const auto& id : ids) REQUIRE(Http("DELETE", sim.url + "/sim/faults/" + id).status == 200);
  CHECK(Eventually([&] {
    auto m = Scrape(exporter);
    for (const auto& id : ids) {
      if (Value(m, Series("ief_batch_job_scrape_success", id)) != 1) return false;
    }
    return true;
  }, std::chrono::seconds(30)));
  if (kMeasuresMemory) {
    CHECK(Eventually([&] { return process.StatusKilobytes("VmRSS") < 100 * 1024; }, std::chrono::seconds(20)));
  }
  INFO("RSS after " << process.StatusKilobytes("VmRSS") / 1024 << " MiB");
}

TEST_CASE("job ids built to break out of a URL are never sent, and are counted") {
  RunningProcess sim = Simulator();
  REQUIRE_FALSE(sim.url.empty());
  // Stored under harmless keys; the list shows the ids the documents hold.
  const std::vector<std::string> hostile = {
      R"("..")", R"("../../../../etc/passwd")", R"("a?b=c")", R"("a#b")", R"("a%2Fb")", R"("a\u0000b")",
      R"("a b")", Quoted(std::string(10000, 'x'))};
  for (size_t i = 0; i < hostile.size(); ++i) {
    REQUIRE(Http("PUT", sim.url + "/sim/jobs/hostile-" + std::to_string(i), Document(hostile[i])).status == 200);
  }
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/good", Document(Quoted("good"))).status == 200);
  TempFile config(Config(sim.url, "    discovery: {enabled: true}\n"), ".yml");
  RunningProcess exporter = StartExporter(config.path());
  REQUIRE_FALSE(exporter.url.empty());
  const std::string invalid = std::string("ief_discovery_invalid_job_ids_total{project_id=\"") + kProject + "\"}";
  REQUIRE(Eventually([&] { return Value(Scrape(exporter), invalid).value_or(0) >= 16; }));  // two list walks
  REQUIRE(Eventually([&] { return Value(Scrape(exporter), Series("ief_batch_job_scrape_success", "good")) == 1; }));
  // Only the good job was ever asked for: no request reached the simulator for anything else.
  CHECK(SimulatorCount(sim, "show") == SimulatorCount(sim, "good"));
  std::set<std::string> tracked;
  for (const auto& [series, value] : Scrape(exporter)) {
    if (series.starts_with("ief_batch_job_scrape_success{")) tracked.insert(series);
  }
  CHECK(tracked == std::set<std::string>{Series("ief_batch_job_scrape_success", "good")});
  // Each invalid id is logged once, not at every list walk.
  const std::string output = exporter.process->Output();
  size_t logged = 0;
  for (size_t at = 0; (at = output.find("invalid id; skipped", at)) != std::string::npos; ++at) ++logged;
  CHECK(logged == hostile.size());
}

TEST_CASE("an answer about another job than the one asked for is refused") {
  RunningProcess sim = Simulator();
  REQUIRE_FALSE(sim.url.empty());
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/asked", Document(Quoted("someone-else"))).status == 200);
  TempFile config(Config(sim.url, "    jobs: [asked]\n"), ".yml");
  RunningProcess exporter = StartExporter(config.path());
  REQUIRE_FALSE(exporter.url.empty());
  auto m = Scrape(exporter);
  CHECK(Value(m, Series("ief_batch_job_scrape_success", "asked")) == 0);
  CHECK(m.count("ief_batch_job_status{project_id=\"" + std::string(kProject) +
                "\",job_id=\"someone-else\",status=\"Running\"}") == 0);
  CHECK(Value(m, std::string("ief_api_parse_errors_total{operation=\"show_job\",project_id=\"") + kProject + "\"}") >=
        1);
  CHECK_THAT(exporter.process->Output(), Catch::Contains("not the one asked for"));
}

TEST_CASE("an upstream that drips is cut at the request timeout, and SIGTERM during it exits at once") {
  RunningProcess sim = Simulator();
  REQUIRE_FALSE(sim.url.empty());
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/drip", Document(Quoted("drip"))).status == 200);
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/fine", Document(Quoted("fine"))).status == 200);
  REQUIRE(Http("PUT", sim.url + "/sim/faults/drip", R"({"kind":"drip"})").status == 200);
  TempFile config(Config(sim.url, "    jobs: [drip, fine]\n", "  max_retries: 0\n  active_refresh_interval: 0s\n"),
                  ".yml");
  const auto started = std::chrono::steady_clock::now();
  RunningProcess exporter = StartExporter(config.path());  // ready after the first round: bounded by the timeout
  REQUIRE_FALSE(exporter.url.empty());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  auto m = Scrape(exporter);
  CHECK(Value(m, Series("ief_batch_job_scrape_success", "drip")) == 0);
  CHECK(Value(m, Series("ief_batch_job_scrape_success", "fine")) == 1);
  CHECK(Value(m, std::string("ief_api_requests_total{code=\"error\",operation=\"show_job\",project_id=\"") +
                     kProject + "\"}") >= 1);
  // Wait for the next dripping request to be in flight, then stop.
  const long drips = SimulatorCount(sim, "drip");
  REQUIRE(Eventually([&] { return SimulatorCount(sim, "drip") > drips; }, std::chrono::seconds(10)));
  const auto stopping = std::chrono::steady_clock::now();
  CHECK(exporter.process->Stop(SIGTERM) == 0);
  CHECK(std::chrono::steady_clock::now() - stopping < std::chrono::seconds(2));
}
