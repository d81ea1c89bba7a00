// ief_simulator and ief_exporter as real processes on ephemeral loopback ports, checked over HTTP and with the
// real promtool. Every wait polls a condition (readiness, a metric value) with a deadline; nothing sleeps blindly.
#include <signal.h>

#include <catch2/catch.hpp>
#include <optional>

#include "support/fixtures.h"
#include "support/integration.h"
#include "support/metric_reference.h"

using ief::testing::ChildProcess;
using ief::testing::Eventually;
using ief::testing::Http;
using ief::testing::ParseExposition;
using ief::testing::TempFile;
using ief::testing::Value;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";
constexpr const char* kSeedJob = "66273c66-f72e-4607-8769-3663d255fb83";
constexpr const char* kToken = "integration-token";

std::string Series(const std::string& name, const std::string& job_id, const std::string& extra = "") {
  return name + "{project_id=\"" + kProject + "\",job_id=\"" + job_id + "\"" + extra + "}";
}

// A simulator with the seed example, a job in an undocumented status, and two generated running jobs; and an
// exporter tracking those plus a job that does not exist.
class Stack {
 public:
  Stack()
      : simulator_({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0", std::string("--project-id=") + kProject,
                    std::string("--token=") + kToken, "--jobs=2", "--phase-seconds=100000"}),
        token_file_(std::string(kToken) + "\n") {
    int sim_port = simulator_.WaitForListeningPort();
    REQUIRE(sim_port > 0);
    sim_url_ = "http://127.0.0.1:" + std::to_string(sim_port);
    REQUIRE(Http("PUT", sim_url_ + "/sim/jobs/" + kSeedJob, ief::testing::ReadFixture("show_batch_job_seed.json"))
                .status == 200);
    REQUIRE(Http("PUT", sim_url_ + "/sim/jobs/odd-status",
                 R"({"job_id":"odd-status","job_name":"odd","status":"Rebooting_all","tasks":[]})")
                .status == 200);
    std::string generated = Http("GET", sim_url_ + "/sim/jobs").body;  // JSON list of ids
    generated_job_ = generated.substr(2, generated.find('"', 2) - 2);

    config_ = std::make_unique<TempFile>(
        "global:\n  poll_interval: 1s\n  request_timeout: 2s\n  max_concurrency: 2\n"
        "  terminal_recheck_interval: 1s\n"  // finished jobs too are re-read every round here
        "projects:\n  - project_id: " + std::string(kProject) + "\n    endpoint: " + sim_url_ +
            "\n    auth:\n      token_file: " + token_file_.path() + "\n    jobs:\n      - " + kSeedJob +
            "\n      - odd-status\n      - no-such-job\n      - " + generated_job_ + "\n",
        ".yml");
    exporter_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        IEF_EXPORTER_BIN, "--config.file=" + config_->path(), "--web.listen-address=127.0.0.1:0"});
    int port = exporter_->WaitForListeningPort();
    INFO(exporter_->Output());
    REQUIRE(port > 0);
    exporter_url_ = "http://127.0.0.1:" + std::to_string(port);
    REQUIRE(Eventually([&] { return Http("GET", exporter_url_ + "/-/ready").status == 200; }));
  }

  std::map<std::string, double> Metrics() { return ParseExposition(Http("GET", exporter_url_ + "/metrics").body); }
  // Polls the metrics until `series` has `value`.
  bool WaitFor(const std::string& series, double value) {
    return Eventually([&] {
      auto metrics = Metrics();
      auto it = metrics.find(series);
      return it != metrics.end() && it->second == value;
    });
  }

  const std::string& sim_url() const { return sim_url_; }
  const std::string& exporter_url() const { return exporter_url_; }
  const std::string& generated_job() const { return generated_job_; }
  const TempFile& token_file() const { return token_file_; }
  ChildProcess& exporter() { return *exporter_; }

 private:
  ChildProcess simulator_;
  TempFile token_file_;
  std::string sim_url_, exporter_url_, generated_job_;
  std::unique_ptr<TempFile> config_;
  std::unique_ptr<ChildProcess> exporter_;
};

}  // namespace

TEST_CASE("the exporter publishes the seed job exactly as the metric reference says") {
  Stack stack;
  auto m = stack.Metrics();
  CHECK(Value(m, Series("ief_batch_job_info", kSeedJob,
                 ",job_name=\"aaa\",job_type=\"deployment_deploy\",target_type=\"node\"")) == 1);
  CHECK(Value(m, Series("ief_batch_job_status", kSeedJob, ",status=\"Successful\"")) == 1);
  CHECK(Value(m, Series("ief_batch_job_status", kSeedJob, ",status=\"Failed\"")) == 0);
  CHECK(Value(m, Series("ief_batch_job_tasks", kSeedJob)) == 2);
  CHECK(Value(m, Series("ief_batch_job_tasks_succeeded", kSeedJob)) == 0);  // as the API reports it
  CHECK(Value(m, Series("ief_batch_job_tasks_failed", kSeedJob)) == 2);
  CHECK(Value(m, Series("ief_batch_job_tasks_by_status", kSeedJob, ",status=\"Successful\"")) == 2);
  CHECK(Value(m, Series("ief_batch_job_created_timestamp_seconds", kSeedJob)) == 1667218308);
  CHECK(Value(m, Series("ief_batch_job_status_updated_timestamp_seconds", kSeedJob)) == 1667218329);
  CHECK(Value(m, Series("ief_batch_job_task_info", kSeedJob,
                 ",task_id=\"382cca3e-88e6-4a7c-bf23-b637a99761f9\",task_name=\"aaa-c530d\","
                 "target_id=\"72eb5df1-295b-41f6-baed-d1a56728b0e0\",status=\"Successful\"")) == 1);
  CHECK(Value(m, Series("ief_batch_job_task_created_timestamp_seconds", kSeedJob,
                 ",task_id=\"ac04605b-c286-4f23-97e0-fe08366c36f5\"")) == 1667218325);
  CHECK(Value(m, Series("ief_batch_job_target_info", kSeedJob,
                 ",target_id=\"b1c0e722-ee98-4ae3-9224-881224cb32c9\",node_name=\"test2\"")) == 1);
  CHECK(Value(m, Series("ief_batch_job_scrape_success", kSeedJob)) == 1);
  CHECK(Value(m, Series("ief_batch_job_last_success_timestamp_seconds", kSeedJob)) > 1.7e9);
  CHECK(m.count(Series("ief_batch_job_task_failure_info", kSeedJob, ",task_id=\"382cca3e-88e6-4a7c-bf23-b637a99761f9\",reason=\"\"")) == 0);
  CHECK(Value(m, std::string("ief_up{project_id=\"") + kProject + "\"}") == 1);
  CHECK(Value(m, "ief_poll_rounds_overrun_total") >= 0);
  CHECK(Value(m, "process_resident_memory_bytes") > 0);
  CHECK(Value(m, "process_start_time_seconds") > 1.7e9);
}

TEST_CASE("a job that answers 404 and a job in an undocumented status") {
  Stack stack;
  auto m = stack.Metrics();
  CHECK(Value(m, Series("ief_batch_job_scrape_success", "no-such-job")) == 0);
  CHECK(m.count(Series("ief_batch_job_info", "no-such-job", ",job_name=\"\",job_type=\"\",target_type=\"\"")) == 0);
  CHECK(Value(m, Series("ief_batch_job_status", "odd-status", ",status=\"Rebooting_all\"")) == 1);
  for (const char* documented : {"Waiting", "Running", "Successful", "Partially_successful", "Failed", "Stopping",
                                 "Stopped", "Timed_out"}) {
    CHECK(Value(m, Series("ief_batch_job_status", "odd-status", ",status=\"" + std::string(documented) + "\"")) == 0);
  }
  CHECK(Value(m, Series("ief_batch_job_status", stack.generated_job(), ",status=\"Running\"")) == 1);
  CHECK(Value(m, std::string("ief_api_requests_total{code=\"404\",operation=\"show_job\",project_id=\"") + kProject + "\"}") >= 1);
  CHECK(Value(m, std::string("ief_api_requests_total{code=\"200\",operation=\"show_job\",project_id=\"") + kProject + "\"}") >= 3);
}

TEST_CASE("the exposition passes promtool check metrics") {
  Stack stack;
  std::string body = Http("GET", stack.exporter_url() + "/metrics").body;
  std::string output;
  int code = ief::testing::RunCommand({IEF_PROMTOOL_BIN, "check", "metrics"}, body, output);
  INFO(output);
  CHECK(code == 0);
  CHECK_THAT(body, Catch::Contains("ief_exporter_build_info{"));
}

TEST_CASE("upstream faults keep the last good values with scrape_success 0") {
  Stack stack;
  const std::string success = Series("ief_batch_job_scrape_success", kSeedJob);
  const std::string status = Series("ief_batch_job_status", kSeedJob, ",status=\"Successful\"");
  for (const char* fault : {R"({"kind":"http_500"})", R"({"kind":"garbage"})", R"({"kind":"truncated"})",
                            R"({"kind":"http_429","retry_after":1})"}) {
    INFO(fault);
    REQUIRE(Http("PUT", stack.sim_url() + "/sim/faults/" + kSeedJob, fault).status == 200);
    CHECK(stack.WaitFor(success, 0));
    CHECK(Value(stack.Metrics(), status) == 1.0);  // last good value still exported
    REQUIRE(Http("DELETE", stack.sim_url() + "/sim/faults/" + kSeedJob).status == 200);
    CHECK(stack.WaitFor(success, 1));
  }
  auto m = stack.Metrics();
  CHECK(Value(m, std::string("ief_api_requests_total{code=\"500\",operation=\"show_job\",project_id=\"") + kProject + "\"}") >= 1);
  CHECK(Value(m, std::string("ief_api_requests_total{code=\"429\",operation=\"show_job\",project_id=\"") + kProject + "\"}") >= 1);
  CHECK(Value(m, std::string("ief_api_parse_errors_total{operation=\"show_job\",project_id=\"") + kProject + "\"}") >= 2);
  // The failure was logged with the simulator's request id.
  CHECK_THAT(stack.exporter().Output(), Catch::Contains("msg=\"Job fetch failed\""));
  CHECK_THAT(stack.exporter().Output(), Catch::Contains("request_id=sim-"));
}

TEST_CASE("a rotated token file is picked up without a restart") {
  Stack stack;
  const std::string up = std::string("ief_up{project_id=\"") + kProject + "\"}";
  REQUIRE(Http("PUT", stack.sim_url() + "/sim/token", "rotated-token").status == 200);
  CHECK(stack.WaitFor(up, 0));
  stack.token_file().Write("rotated-token\n");
  CHECK(stack.WaitFor(up, 1));
  CHECK(stack.WaitFor(Series("ief_batch_job_scrape_success", kSeedJob), 1));
  CHECK_THAT(stack.exporter().Output(), !Catch::Contains("rotated-token"));
  CHECK_THAT(stack.exporter().Output(), !Catch::Contains(kToken));
}

TEST_CASE("the landing page, health and SIGTERM") {
  Stack stack;
  auto landing = Http("GET", stack.exporter_url() + "/");
  CHECK(landing.status == 200);
  CHECK_THAT(landing.body, Catch::Contains("href=\"/metrics\""));
  CHECK(Http("GET", stack.exporter_url() + "/-/healthy").status == 200);
  CHECK(stack.exporter().Stop(SIGTERM) == 0);
}

TEST_CASE("config.check validates and exits 0 or 1") {
  TempFile good("projects:\n  - project_id: p\n    endpoint: https://ief.example.com\n    auth: {token: t}\n"
                "    jobs: [a]\n", ".yml");
  TempFile bad("projects:\n  - project_id: p\n    endpoint: ftp://ief.example.com\n    auth: {token: SECRET}\n"
               "    jobs: [a]\n", ".yml");
  std::string output;
  CHECK(ief::testing::RunCommand({IEF_EXPORTER_BIN, "--config.check", "--config.file=" + good.path()}, "", output) == 0);
  CHECK_THAT(output, Catch::Contains("config is valid"));
  CHECK(ief::testing::RunCommand({IEF_EXPORTER_BIN, "--config.check", "--config.file=" + bad.path()}, "", output) == 1);
  CHECK_THAT(output, Catch::Contains(bad.path() + ":3:15: endpoint: must start with http:// or https://"));
  CHECK_THAT(output, !Catch::Contains("SECRET"));
}

TEST_CASE("the version and help flags") {
  std::string output;
  CHECK(ief::testing::RunCommand({IEF_EXPORTER_BIN, "--version"}, "", output) == 0);
  CHECK_THAT(output, Catch::StartsWith("ief_exporter, version "));
  CHECK(ief::testing::RunCommand({IEF_EXPORTER_BIN, "--help"}, "", output) == 0);
  for (const char* flag : {"--config.file", "--config.check", "--web.listen-address", "--web.telemetry-path",
                           "--log.level", "--log.format", "--demo", "--version"}) {
    CHECK_THAT(output, Catch::Contains(flag));
  }
  CHECK(ief::testing::RunCommand({IEF_EXPORTER_BIN, "--log.level=loud"}, "", output) != 0);
}

TEST_CASE("a port that is taken is a clear start-up error") {
  ChildProcess first({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0"});
  int port = first.WaitForListeningPort();
  REQUIRE(port > 0);
  TempFile config("projects:\n  - project_id: p\n    endpoint: http://127.0.0.1:1\n    auth: {token: t}\n"
                  "    jobs: [a]\n", ".yml");
  ChildProcess second({IEF_EXPORTER_BIN, "--config.file=" + config.path(),
                       "--web.listen-address=127.0.0.1:" + std::to_string(port)});
  CHECK(second.WaitForExit() == 1);
  CHECK_THAT(second.Output(), Catch::Contains("Cannot start the web server"));
}

// The other half of tests/docs/metric_reference_test.cc: a real process's exposition against the reference.
TEST_CASE("every family the demo serves is in docs/metrics.md with its type and labels") {
  ief::testing::TempDirectory storage;
  ief::testing::RunningProcess demo = ief::testing::StartListening(
      {IEF_EXPORTER_BIN, "--demo", "--web.listen-address=127.0.0.1:0", "--storage.path=" + storage.path()});
  REQUIRE_FALSE(demo.url.empty());
  std::string exposition;
  CHECK(Eventually([&] {
    exposition = Http("GET", demo.url + "/metrics").body;
    return exposition.find("\nief_batch_job_task_info{") != std::string::npos;
  }));
  ief::testing::FamilyShapes exposed = ief::testing::ExposedFamilies(exposition);
  CHECK(exposed.size() >= 35);  // a real exposition, not an error page
  for (const std::string& problem :
       ief::testing::UndocumentedShapes(ief::testing::DocumentedFamilies(), exposed)) {
    FAIL_CHECK(problem);
  }
}
