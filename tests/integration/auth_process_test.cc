// IAM tokens and AK/SK signing end to end: ief_exporter against ief_simulator acting as IAM and IEF.
#include <signal.h>

#include <catch2/catch.hpp>

#include "support/fixtures.h"
#include "support/integration.h"

using namespace ief::testing;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";

std::string ProjectConfig(const std::string& endpoint, const std::string& auth_block, const std::string& jobs) {
  return "global:\n  poll_interval: 1s\n  request_timeout: 2s\n"
         "projects:\n  - project_id: " + std::string(kProject) + "\n    endpoint: " + endpoint +
         "\n    auth:\n" + auth_block + "    jobs: [" + jobs + "]\n";
}

std::string FirstJobs(const RunningProcess& sim) {
  std::string ids = Http("GET", sim.url + "/sim/jobs").body;  // ["a","b"]
  std::string out;
  for (char c : ids) {
    if (c != '[' && c != ']') out += c;
  }
  return out;
}

std::string Up() { return std::string("ief_up{project_id=\"") + kProject + "\"}"; }

// A simulator with `jobs` jobs acting as IAM too, and an exporter whose IAM password is wrong.
struct WrongPasswordStack {
  explicit WrongPasswordStack(int jobs)
      : sim(StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                            std::string("--project-id=") + kProject, "--jobs=" + std::to_string(jobs)})),
        config(ProjectConfig(sim.url,
                             "      iam:\n        endpoint: " + sim.url +
                                 "\n        domain: demo-domain\n        user: demo-user\n"
                                 "        password: not-the-password\n",
                             FirstJobs(sim)),
               ".yml"),
        exporter(StartExporter(config.path())) {
    REQUIRE_FALSE(sim.url.empty());
    REQUIRE_FALSE(exporter.url.empty());
  }
  RunningProcess sim;
  TempFile config;
  RunningProcess exporter;
};

}  // namespace

TEST_CASE("short-lived IAM tokens are renewed before they expire, with no failed fetch") {
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=2", "--phase-seconds=100000",
                                       "--iam-token-lifetime=12s", "--iam-password=s3cret-pw"});
  REQUIRE_FALSE(sim.url.empty());
  TempFile password("s3cret-pw\n");
  TempFile config(ProjectConfig(sim.url,
                                "      iam:\n        endpoint: " + sim.url +
                                    "\n        domain: demo-domain\n        user: demo-user\n        password_file: " +
                                    password.path() + "\n",
                                FirstJobs(sim)),
                  ".yml");
  RunningProcess exporter = StartExporter(config.path());
  INFO(exporter.process->Output());
  REQUIRE_FALSE(exporter.url.empty());

  // Tokens live 12 s (the shortest lifetime the exporter believes is 10 s) and are renewed after 9: twenty seconds
  // see two renewals, and every sample must show every job fetched fine.
  int failed_samples = 0, samples = 0;
  Eventually(
      [&] {
        auto m = Scrape(exporter);
        ++samples;
        for (const auto& [series, value] : m) {
          if (series.starts_with("ief_batch_job_scrape_success") && value != 1) ++failed_samples;
        }
        return false;
      },
      std::chrono::seconds(20));
  CHECK(samples > 40);
  CHECK(failed_samples == 0);
  CHECK(SimulatorCount(sim, "iam_issued") >= 3);
  CHECK(SimulatorCount(sim, "expired_token") <= 1);
  auto m = Scrape(exporter);
  CHECK(Value(m, std::string("ief_auth_token_expiry_timestamp_seconds{project_id=\"") + kProject + "\"}") > 1.7e9);
  CHECK(Value(m, std::string("ief_api_requests_total{code=\"201\",operation=\"iam_token\",project_id=\"") + kProject +
                     "\"}") >= 3);
  CHECK(Value(m, Up()) == 1);
  CHECK_THAT(exporter.process->Output(), !Catch::Contains("s3cret-pw"));
  CHECK_THAT(exporter.process->Output(), !Catch::Contains("sim-iam-"));
}

TEST_CASE("a wrong IAM password is not retried in a loop") {
  WrongPasswordStack stack(3);
  const RunningProcess& sim = stack.sim;
  const RunningProcess& exporter = stack.exporter;
  // Several poll rounds with three jobs each: still a single IAM attempt.
  CHECK_FALSE(Eventually([&] { return SimulatorCount(sim, "iam_rejected") > 1; }, std::chrono::seconds(4)));
  CHECK(SimulatorCount(sim, "iam_rejected") == 1);
  CHECK(Value(Scrape(exporter), Up()) == 0);
  std::string output = exporter.process->Output();
  CHECK_THAT(output, Catch::Contains("msg=\"IAM rejected the credentials\""));
  CHECK_THAT(output, !Catch::Contains("not-the-password"));
  CHECK_THAT(Http("GET", exporter.url + "/metrics").body, !Catch::Contains("not-the-password"));
}

TEST_CASE("reloads keep the IAM back-off: ten SIGHUPs with a wrong password cost no extra IAM attempt") {
  WrongPasswordStack stack(2);
  const RunningProcess& sim = stack.sim;
  RunningProcess& exporter = stack.exporter;
  REQUIRE(Eventually([&] { return SimulatorCount(sim, "iam_rejected") == 1; }));
  const std::string reloads = "Config reloaded";
  for (int i = 1; i <= 10; ++i) {
    exporter.process->Signal(SIGHUP);
    // Each reload is done (and its first round has run) before the next: the log says so.
    REQUIRE(Eventually([&] {
      std::string output = exporter.process->Output();
      size_t count = 0;
      for (size_t at = 0; (at = output.find(reloads, at)) != std::string::npos; at += reloads.size()) ++count;
      return count == static_cast<size_t>(i);
    }));
  }
  CHECK_FALSE(Eventually([&] { return SimulatorCount(sim, "iam_rejected") > 1; }, std::chrono::seconds(3)));
  CHECK(SimulatorCount(sim, "iam_rejected") == 1);
}

TEST_CASE("AK/SK-signed requests are verified, and a wrong secret is rejected") {
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=2",
                                       "--access-key=QTWAOYTTINDUT2QVKYUC",
                                       "--secret-key=MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"});
  REQUIRE_FALSE(sim.url.empty());
  TempFile secret("MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc\n");
  TempFile config(ProjectConfig(sim.url,
                                "      aksk:\n        access_key: QTWAOYTTINDUT2QVKYUC\n        secret_key_file: " +
                                    secret.path() + "\n",
                                FirstJobs(sim)),
                  ".yml");
  RunningProcess exporter = StartExporter(config.path());
  INFO(exporter.process->Output());
  REQUIRE_FALSE(exporter.url.empty());
  CHECK(Eventually([&] { return SimulatorCount(sim, "aksk_verified") >= 6; }));
  CHECK(SimulatorCount(sim, "aksk_rejected") == 0);
  auto m = Scrape(exporter);
  CHECK(Value(m, Up()) == 1);

  secret.Write("the-wrong-secret\n");  // re-read on change
  CHECK(Eventually([&] { return Value(Scrape(exporter), Up()) == 0.0; }));
  CHECK(SimulatorCount(sim, "aksk_rejected") >= 1);
  CHECK_THAT(exporter.process->Output(), !Catch::Contains("MFyfvK41"));
  CHECK_THAT(exporter.process->Output(), !Catch::Contains("the-wrong-secret"));
}
