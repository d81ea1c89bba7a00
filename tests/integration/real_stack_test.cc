// The real stack: ief_simulator -> ief_exporter -> Debian's Prometheus (with the shipped alert rules, their `for:`
// shortened at load time) -> Debian's Alertmanager -> a webhook receiver owned by this test. Checks that every
// query of every dashboard returns data and that a failed job's IEFBatchJobFailed is delivered.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>

#include "support/fixtures.h"
#include "support/integration.h"
#include "util/url.h"
#include "web/http_server.h"

using namespace ief::testing;
using Json = nlohmann::json;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(IEF_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/ief_stack_XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(path + "/" + name) << content;
    return path + "/" + name;
  }
};

// Records what Alertmanager posts.
struct WebhookReceiver {
  std::mutex mutex;
  std::vector<Json> notifications;
  std::unique_ptr<ief::HttpServer> server;

  WebhookReceiver() {
    auto started = ief::HttpServer::Start({"127.0.0.1:0", 2, 10000, 1 << 20, nullptr},
                                          {{"/alerts", [this](const ief::ServerRequest& request) {
                                              std::lock_guard<std::mutex> lock(mutex);
                                              notifications.push_back(Json::parse(request.body, nullptr, false));
                                              return ief::ServerReply{200, "text/plain", "ok", {}};
                                            }}});
    REQUIRE(started.ok());
    server = std::move(started).value();
  }
  bool Received(const std::string& alertname, const std::string& job_id) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const Json& notification : notifications) {
      if (!notification.is_object() || !notification.contains("alerts")) continue;
      for (const Json& alert : notification["alerts"]) {
        const Json& labels = alert["labels"];
        if (labels.value("alertname", "") == alertname && labels.value("job_id", "") == job_id) return true;
      }
    }
    return false;
  }
};

Json Query(const std::string& prometheus, const std::string& promql) {
  auto response = Http("GET", prometheus + "/api/v1/query?query=" + ief::UriEncode(promql));
  return Json::parse(response.body, nullptr, false);
}

bool HasData(const std::string& prometheus, const std::string& promql) {
  Json answer = Query(prometheus, promql);
  return answer.is_object() && answer.value("status", "") == "success" && !answer["data"]["result"].empty();
}

// Every PromQL expression of a dashboard, with Grafana's variables replaced (match-all, a rate window).
// Pairs of (panel title, expression).
std::vector<std::pair<std::string, std::string>> DashboardQueries(const std::string& file) {
  Json dashboard = Json::parse(ReadSource(file));
  std::vector<std::pair<std::string, std::string>> queries;
  for (const Json& panel : dashboard["panels"]) {
    for (const Json& target : panel["targets"]) {
      std::string expr = target["expr"];
      expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "30s");
      expr = std::regex_replace(expr, std::regex(R"(\$\{?(project_id|job_id)\}?)"), ".*");
      queries.emplace_back(panel["title"].get<std::string>(), expr);
    }
  }
  return queries;
}

}  // namespace

TEST_CASE("a real Prometheus and Alertmanager: dashboards have data, a failed job pages") {
  // Jobs 0..3 of the simulator are scripted to succeed, partly fail, fail, and run long.
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=4", "--tasks=3",
                                       "--phase-seconds=1"});
  REQUIRE_FALSE(sim.url.empty());
  std::vector<std::string> jobs = Json::parse(Http("GET", sim.url + "/sim/jobs").body);
  REQUIRE(jobs.size() == 4);
  TempDir dir;
  std::string exporter_config = dir.Write(
      "ief.yml", "global:\n  poll_interval: 1s\nprojects:\n  - project_id: " + std::string(kProject) +
                     "\n    endpoint: " + sim.url + "\n    auth: {token: demo-token}\n    discovery: {enabled: true}\n");
  RunningProcess exporter = StartExporter(exporter_config);
  REQUIRE_FALSE(exporter.url.empty());

  WebhookReceiver webhook;
  int alertmanager_port = FreeLoopbackPort();
  std::string alertmanager_config = dir.Write(
      "alertmanager.yml", "route:\n  receiver: test\n  group_by: [alertname, job_id]\n  group_wait: 1s\n"
                          "  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: test\n"
                          "    webhook_configs:\n      - url: http://127.0.0.1:" +
                              std::to_string(webhook.server->port()) + "/alerts\n");
  ChildProcess alertmanager({"/usr/bin/prometheus-alertmanager", "--config.file=" + alertmanager_config,
                             "--storage.path=" + dir.path + "/am", "--cluster.listen-address=",
                             "--web.listen-address=127.0.0.1:" + std::to_string(alertmanager_port)});

  // The shipped rules, with every `for:` shortened so the test does not wait minutes (the shipped file is
  // unchanged; promtool's unit tests cover the real durations).
  std::string rules = std::regex_replace(ReadSource("config/prometheus/rules/ief_alerts.yml"),
                                         std::regex(R"(for: \S+)"), "for: 1s");
  dir.Write("ief_alerts.yml", rules);
  int prometheus_port = FreeLoopbackPort();
  std::string prometheus_config = dir.Write(
      "prometheus.yml", "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [" + dir.path +
                            "/ief_alerts.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n"
                            "        - targets: ['127.0.0.1:" + std::to_string(alertmanager_port) + "']\n"
                            "scrape_configs:\n  - job_name: ief_exporter\n    static_configs:\n"
                            "      - targets: ['" + exporter.url.substr(7) + "']\n");
  ChildProcess prometheus({"/usr/bin/prometheus", "--config.file=" + prometheus_config,
                           "--storage.tsdb.path=" + dir.path + "/tsdb",
                           "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)});
  std::string prometheus_url = "http://127.0.0.1:" + std::to_string(prometheus_port);
  INFO(prometheus.Output());
  REQUIRE(Eventually([&] { return Http("GET", prometheus_url + "/-/ready").status == 200; }, std::chrono::seconds(30)));
  REQUIRE(Eventually([&] { return Http("GET", "http://127.0.0.1:" + std::to_string(alertmanager_port) + "/-/ready").status == 200; },
                     std::chrono::seconds(30)));

  // The failed job (index 2) must be Failed and rates must have two samples before every query can have data.
  REQUIRE(Eventually([&] { return HasData(prometheus_url, "ief_batch_job_status{status=\"Failed\",job_id=\"" + jobs[2] + "\"} == 1"); },
                     std::chrono::seconds(30)));
  REQUIRE(Eventually([&] { return HasData(prometheus_url, "rate(ief_api_requests_total[30s]) > 0"); }, std::chrono::seconds(30)));

  for (const char* file : {"dashboards/ief-batch-jobs-overview.json", "dashboards/ief-batch-job-detail.json"}) {
    for (const auto& [title, expr] : DashboardQueries(file)) {
      INFO(file << " / " << title << ": " << expr);
      CHECK(Eventually([&] { return HasData(prometheus_url, expr); }, std::chrono::seconds(10)));
    }
  }

  // IEFBatchJobFailed reaches the receiver for the failed job, and is never raised for the successful one.
  CHECK(Eventually([&] { return webhook.Received("IEFBatchJobFailed", jobs[2]); }, std::chrono::seconds(30)));
  Json alerts = Json::parse(Http("GET", prometheus_url + "/api/v1/alerts").body);
  bool successful_job_alerted = false;
  for (const Json& alert : alerts["data"]["alerts"]) {
    if (alert["labels"].value("alertname", "") == "IEFBatchJobFailed" && alert["labels"].value("job_id", "") == jobs[0]) {
      successful_job_alerted = true;
    }
  }
  CHECK_FALSE(successful_job_alerted);
  CHECK(Eventually([&] { return webhook.Received("IEFBatchJobPartiallySucceeded", jobs[1]); }, std::chrono::seconds(30)));
}
