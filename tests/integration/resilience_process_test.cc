// The exporter on its worst day: a hanging upstream, config reloads good and bad, shutdown during a hang.
#include <signal.h>

#include <catch2/catch.hpp>

#include "support/fixtures.h"
#include "support/integration.h"
#include "upstream/http/curl_transport.h"

using namespace ief::testing;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";

std::string Series(const std::string& name, const std::string& job_id, const std::string& extra = "") {
  return name + "{project_id=\"" + kProject + "\",job_id=\"" + job_id + "\"" + extra + "}";
}

std::string Config(const std::string& endpoint, const std::vector<std::string>& jobs) {
  std::string list;
  for (const auto& job : jobs) list += (list.empty() ? "" : ", ") + job;
  // Active jobs are read every round (not only when the list shows a change), so a hanging job is asked again.
  return "global:\n  poll_interval: 1s\n  request_timeout: 1s\n  max_concurrency: 4\n  active_refresh_interval: 0s\n"
         "projects:\n  - project_id: " + std::string(kProject) + "\n    endpoint: " + endpoint +
         "\n    auth: {token: demo-token}\n    jobs: [" + list + "]\n";
}

struct Fixture {
  RunningProcess sim;
  std::vector<std::string> jobs;
  std::unique_ptr<TempFile> config;
  RunningProcess exporter;

  Fixture() {
    sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                          std::string("--project-id=") + kProject, "--jobs=3", "--phase-seconds=100000"});
    REQUIRE_FALSE(sim.url.empty());
    std::string ids = Http("GET", sim.url + "/sim/jobs").body;
    for (size_t pos = 0; (pos = ids.find('"', pos)) != std::string::npos;) {
      size_t end = ids.find('"', pos + 1);
      jobs.push_back(ids.substr(pos + 1, end - pos - 1));
      pos = end + 1;
    }
    REQUIRE(jobs.size() == 3);
    config = std::make_unique<TempFile>(Config(sim.url, {jobs[0], jobs[1]}), ".yml");
    exporter = StartExporter(config->path(), {"--web.enable-lifecycle"});
    INFO(exporter.process->Output());
    REQUIRE_FALSE(exporter.url.empty());
  }

  bool WaitFor(const std::string& series, std::optional<double> value) {
    return Eventually([&] { return Value(Scrape(exporter), series) == value; });
  }
};

}  // namespace

TEST_CASE("a hanging upstream never slows /metrics and does not block other jobs") {
  Fixture f;
  REQUIRE(Http("PUT", f.sim.url + "/sim/faults/" + f.jobs[0], R"({"kind":"delay","delay_ms":30000})").status == 200);
  CHECK(f.WaitFor(Series("ief_batch_job_scrape_success", f.jobs[0]), 0));
  // Scrapes during the hang: quick, the hung job keeps its last values, the other job stays fresh.
  double slowest = 0;
  for (int i = 0; i < 20; ++i) {
    auto started = std::chrono::steady_clock::now();
    auto response = Http("GET", f.exporter.url + "/metrics");
    slowest = std::max(slowest, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    REQUIRE(response.status == 200);
  }
  CHECK(slowest < 0.5);
  auto m = Scrape(f.exporter);
  CHECK(Value(m, Series("ief_batch_job_status", f.jobs[0], ",status=\"Running\"")) == 1);
  CHECK(Value(m, Series("ief_batch_job_scrape_success", f.jobs[1])) == 1);
  CHECK(Value(m, std::string("ief_api_requests_total{code=\"error\",operation=\"show_job\",project_id=\"") +
                     kProject + "\"}") >= 1);
  // No retry storm: a hung request is not retried within the same poll interval, and the job backs off.
  long hung_requests = std::stol(Http("GET", f.sim.url + "/sim/requests/" + f.jobs[0]).body);
  CHECK(hung_requests <= 6);

  // Shutdown during the hang: the transfer is aborted, not waited out.
  auto stopping = std::chrono::steady_clock::now();
  CHECK(f.exporter.process->Stop(SIGTERM) == 0);
  CHECK(std::chrono::steady_clock::now() - stopping < std::chrono::seconds(5));
}

TEST_CASE("a bad config sent by SIGHUP is refused, a good one by POST /-/reload takes effect") {
  Fixture f;
  const std::string reload_ok = "ief_exporter_config_last_reload_successful";
  CHECK(Value(Scrape(f.exporter), reload_ok) == 1);

  f.config->Write("global:\n  poll_intervall: 1s\n" + Config(f.sim.url, {f.jobs[2]}).substr(8));
  f.exporter.process->Signal(SIGHUP);
  CHECK(f.WaitFor(reload_ok, 0));
  auto m = Scrape(f.exporter);
  CHECK(Value(m, Series("ief_batch_job_scrape_success", f.jobs[0])) == 1);  // the old jobs stay
  CHECK(Value(m, Series("ief_batch_job_scrape_success", f.jobs[2])) == std::nullopt);
  CHECK_THAT(f.exporter.process->Output(), Catch::Contains("Config reload refused"));
  CHECK_THAT(f.exporter.process->Output(), Catch::Contains(f.config->path() + ":2:3: unknown key \\\"poll_intervall\\\""));

  f.config->Write(Config(f.sim.url, {f.jobs[0], f.jobs[2]}));
  auto reloaded = Http("POST", f.exporter.url + "/-/reload");
  CHECK(reloaded.status == 200);
  CHECK(f.WaitFor(Series("ief_batch_job_scrape_success", f.jobs[2]), 1));
  m = Scrape(f.exporter);
  CHECK(Value(m, reload_ok) == 1);
  CHECK(Value(m, Series("ief_batch_job_scrape_success", f.jobs[0])) == 1);
  CHECK(Value(m, Series("ief_batch_job_scrape_success", f.jobs[1])) == std::nullopt);  // dropped job: gone

  f.config->Write("projects: {}\n");
  auto refused = Http("POST", f.exporter.url + "/-/reload");
  CHECK(refused.status == 500);
  CHECK_THAT(refused.body, Catch::Contains(":1:11: projects must be a list"));
  CHECK(Http("GET", f.exporter.url + "/-/ready").status == 200);
}

namespace {

ief::testing::TestResponse GetWithAuth(const std::string& url, const std::string& authorization) {
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.url = url;
  if (!authorization.empty()) request.headers = {{"Authorization", authorization}};
  ief::Result<ief::HttpResponse> response = transport.Send(request);
  if (!response.ok()) return {.error = response.error().message};
  return {.status = response->status, .body = response->body};
}

}  // namespace

TEST_CASE("a bcrypt web config refuses anonymous and wrong-password scrapes") {
  ProtectedExporter protected_exporter("scrape-secret");
  RunningProcess& exporter = protected_exporter.exporter;
  REQUIRE_FALSE(exporter.url.empty());
  auto anonymous = GetWithAuth(exporter.url + "/metrics", "");
  CHECK(anonymous.status == 401);
  CHECK(GetWithAuth(exporter.url + "/metrics", "Basic cHJvbWV0aGV1czp3cm9uZw==").status == 401);  // prometheus:wrong
  // prometheus:scrape-secret
  auto allowed = GetWithAuth(exporter.url + "/metrics", "Basic cHJvbWV0aGV1czpzY3JhcGUtc2VjcmV0");
  CHECK(allowed.status == 200);
  CHECK_THAT(allowed.body, Catch::Contains("ief_exporter_build_info"));
  CHECK(GetWithAuth(exporter.url + "/-/healthy", "").status == 401);
  CHECK_THAT(exporter.process->Output(), !Catch::Contains("scrape-secret"));
}

TEST_CASE("a TLS web config whose certificate cannot be read stops the start with its position") {
  TempFile web("tls_server_config:\n  cert_file: /nonexistent/x.crt\n  key_file: /nonexistent/x.key\n", ".yml");
  TempFile config("projects:\n  - project_id: p\n    endpoint: http://127.0.0.1:1\n    auth: {token: t}\n"
                  "    jobs: [a]\n", ".yml");
  ChildProcess exporter({IEF_EXPORTER_BIN, "--config.file=" + config.path(), "--web.config.file=" + web.path(),
                         "--web.listen-address=127.0.0.1:0"});
  CHECK(exporter.WaitForExit() == 1);
  CHECK_THAT(exporter.Output(), Catch::Contains(web.path() + ":2:14: cert_file: cannot read /nonexistent/x.crt: "));
  CHECK_THAT(exporter.Output(), Catch::Contains(web.path() + ":3:13: key_file: cannot read /nonexistent/x.key: "));
}

TEST_CASE("broken configs are refused with a position") {
  TempFile token("t\n");
  const std::string head = "projects:\n  - project_id: p\n    endpoint: https://ief.example.com\n";
  struct Case {
    std::string yaml;
    std::string position_and_message;
  };
  const std::vector<Case> cases = {
      {"global:\n  max_concurrency: -3\n" + head + "    auth: {token: t}\n    jobs: [a]\n",
       ":2:20: max_concurrency must be between 1 and 1024"},
      {head + "    auth: {token: t, token_file: " + token.path() + "}\n    jobs: [a]\n",
       ":4:11: auth needs exactly one of token, token_file, iam, aksk (found 2)"},
      {"projects:\n  - project_id: p\n    endpoint: ief.example.com\n    auth: {token: t}\n    jobs: [a]\n",
       ":3:15: endpoint: must start with http:// or https://"},
      {head + "\tauth: {token: t}\n", ":4:1: tab character"},
      {head + "    auth: {token: t}\n    jobs: [a]\n    jobs: [b]\n", ":6:5: duplicate key \"jobs\""},
      {head + "    auth: {token: t}\n    job: [a]\n", ":5:5: unknown key \"job\""},
      {"projects: {}\n", ":1:11: projects must be a list"},
      {head + "    auth: {token_file: /nonexistent/secret}\n    jobs: [a]\n",
       ":4:24: token_file: cannot read /nonexistent/secret: No such file or directory"},
  };
  for (const Case& c : cases) {
    TempFile config(c.yaml, ".yml");
    std::string output;
    INFO(c.yaml);
    CHECK(RunCommand({IEF_EXPORTER_BIN, "--config.check", "--config.file=" + config.path()}, "", output) == 1);
    CHECK_THAT(output, Catch::Contains(config.path() + c.position_and_message));
  }
}
