// The real stack: ief_simulator -> ief_exporter -> Debian's Prometheus (with the shipped recording and alert
// rules, the alerts' `for:` shortened at load time) -> Debian's Alertmanager -> a webhook receiver owned by this
// test. Checks that every query of every dashboard returns data, that a failed job's IEFBatchJobFailed is
// delivered, and that IEFBatchJobFailureRatioHigh goes off for a running job failing on 30% of its nodes and not
// for one failing on 5%.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "support/fixtures.h"
#include "support/integration.h"
#include "util/url.h"
#include "web/http_server.h"

using namespace ief::testing;
using Json = nlohmann::json;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";

// A Running node upgrade whose tasks are `succeeded` Successful, `failed` Failed (an image that cannot be pulled)
// and `running` still Running, as ShowBatchJob returns it.
std::string RunningJob(const std::string& id, int succeeded, int failed, int running) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  Json tasks = Json::array();
  Json targets = Json::array();
  for (int t = 0; t < succeeded + failed + running; ++t) {
    const char* status = t < succeeded ? "Successful" : t < succeeded + failed ? "Failed" : "Running";
    std::string target_id = id + "-target-" + std::to_string(t);
    tasks.push_back({{"task_id", id + "-task-" + std::to_string(t)},
                     {"task_name", id + "-" + std::to_string(t)},
                     {"target_id", target_id},
                     {"status", status},
                     {"created_at", now - 600},
                     {"reason", std::string(status) == "Failed" ? "image pull failed: manifest unknown" : ""}});
    Json node_name = {{"key", "node_name"}, {"value", id + "-node-" + std::to_string(t)}};
    targets.push_back({{"target_id", target_id}, {"extension_info", Json::array({node_name})}});
  }
  Json job = {{"job_id", id},
              {"job_name", "upgrade-" + id},
              {"job_type", "node_upgrade"},
              {"target_type", "node"},
              {"status", "Running"},
              {"created_at", now - 900},
              {"status_last_updated_at", now - 600},
              {"tasks", tasks},
              {"targets", targets},
              {"task_total_count", tasks.size()},
              {"task_success_count", succeeded},
              {"task_failed_count", failed}};
  return job.dump();
}

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(IEF_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Records what Alertmanager posts.
struct WebhookReceiver {
  std::mutex mutex;
  std::vector<Json> notifications;
  std::unique_ptr<ief::HttpServer> server;

  WebhookReceiver() {
    auto started = ief::HttpServer::Start({{"127.0.0.1:0"}, 2, 10000, 1 << 20, nullptr},
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

// The value of a query that returns one sample, or NaN.
double ScalarValue(const std::string& prometheus, const std::string& promql) {
  Json answer = Query(prometheus, promql);
  if (!answer.is_object() || answer.value("status", "") != "success") return NAN;
  const Json& result = answer["data"]["result"];
  if (result.size() != 1) return NAN;
  return std::stod(result[0]["value"][1].get<std::string>());
}

// The state ("pending", "firing") of an active alert for a job, empty when there is none.
std::string AlertState(const std::string& prometheus, const std::string& alertname, const std::string& job_id,
                       Json* labels = nullptr) {
  Json alerts = Json::parse(Http("GET", prometheus + "/api/v1/alerts").body, nullptr, false);
  if (!alerts.is_object() || !alerts.contains("data")) return "";
  for (const Json& alert : alerts["data"]["alerts"]) {
    if (alert["labels"].value("alertname", "") == alertname && alert["labels"].value("job_id", "") == job_id) {
      if (labels != nullptr) *labels = alert["labels"];
      return alert.value("state", "");
    }
  }
  return "";
}

// Every PromQL expression of a dashboard, with Grafana's variables replaced (match-all, a rate window).
// Pairs of (panel title, expression). Rows hold no queries; a collapsed row keeps its panels inside it.
std::vector<std::pair<std::string, std::string>> DashboardQueries(const std::string& file) {
  Json dashboard = Json::parse(ReadSource(file));
  std::vector<std::pair<std::string, std::string>> queries;
  std::vector<Json> panels = dashboard["panels"];
  for (size_t i = 0; i < panels.size(); ++i) {
    const Json panel = panels[i];
    for (const Json& inner : panel.value("panels", Json::array())) panels.push_back(inner);
    for (const Json& target : panel.value("targets", Json::array())) {
      std::string expr = target["expr"];
      expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "30s");
      expr = std::regex_replace(expr, std::regex(R"(\$\{?(project_id|job_id)\}?)"), ".*");
      queries.emplace_back(panel["title"].get<std::string>(), expr);
    }
  }
  return queries;
}

}  // namespace

TEST_CASE("real_stack: a real Prometheus and Alertmanager: dashboards have data, failing jobs page") {
  // Jobs 0..3 of the simulator are scripted to succeed, partly fail, fail, and run long.
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=4", "--tasks=3",
                                       "--phase-seconds=1"});
  REQUIRE_FALSE(sim.url.empty());
  std::vector<std::string> jobs = Json::parse(Http("GET", sim.url + "/sim/jobs").body);
  REQUIRE(jobs.size() == 4);
  // A running rollout failing on 1 of its 20 finished nodes (5%), there from the start; the one failing on 30%
  // comes later (below).
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/rollout-5pct", RunningJob("rollout-5pct", 19, 1, 10)).status == 200);
  TempDirectory dir;
  std::string exporter_config = dir.Write(
      "ief.yml", std::string("global:\n  poll_interval: 1s\n  node_failure_metrics: true\n") +
                     "projects:\n  - project_id: " + std::string(kProject) + "\n    endpoint: " + sim.url +
                     "\n    auth: {token: demo-token}\n    discovery: {enabled: true}\n");
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
                             "--storage.path=" + dir.path() + "/am", "--cluster.listen-address=",
                             "--web.listen-address=127.0.0.1:" + std::to_string(alertmanager_port)});

  // The shipped rules, with every `for:` shortened so the test does not wait minutes (the shipped file is
  // unchanged; promtool's unit tests cover the real durations).
  std::string rules = std::regex_replace(ReadSource("config/prometheus/rules/ief_alerts.yml"),
                                         std::regex(R"(for: \S+)"), "for: 1s");
  dir.Write("ief_alerts.yml", rules);
  // The recording rules as shipped, but every group evaluated each second (the fleet-wide group says 1m).
  dir.Write("ief_recording.yml", std::regex_replace(ReadSource("config/prometheus/rules/ief_recording.yml"),
                                                    std::regex(R"(\n    interval: \S+)"), ""));
  std::string prometheus_config = dir.Write(
      "prometheus.yml", "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [" + dir.path() +
                            "/ief_recording.yml, " + dir.path() +
                            "/ief_alerts.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n"
                            "        - targets: ['127.0.0.1:" + std::to_string(alertmanager_port) + "']\n"
                            "scrape_configs:\n  - job_name: ief_exporter\n    static_configs:\n"
                            "      - targets: ['" + exporter.url.substr(7) + "']\n");
  RunningPrometheus prometheus = StartPrometheus(prometheus_config, dir.path() + "/tsdb");
  INFO(prometheus.process->Output());
  REQUIRE_FALSE(prometheus.url.empty());
  const std::string& prometheus_url = prometheus.url;
  REQUIRE(Eventually([&] { return Http("GET", "http://127.0.0.1:" + std::to_string(alertmanager_port) + "/-/ready").status == 200; },
                     std::chrono::seconds(30)));

  // The failed job (index 2) must be Failed and rates must have two samples before every query can have data.
  REQUIRE(Eventually([&] { return HasData(prometheus_url, "ief_batch_job_status{status=\"Failed\",job_id=\"" + jobs[2] + "\"} == 1"); },
                     std::chrono::seconds(30)));
  REQUIRE(Eventually([&] { return HasData(prometheus_url, "rate(ief_api_requests_total[30s]) > 0"); }, std::chrono::seconds(30)));

  // The 5% rollout is recorded (10 + 10 finished tasks, 1 failed) before the 30% one arrives: every evaluation of
  // the alert that sees the 30% job has seen the 5% job's share too.
  const std::string share = "project_id_job_id:ief_batch_job_tasks_failed_per_finished:ratio";
  const std::string finished = "project_id_job_id:ief_batch_job_tasks_finished:sum";
  REQUIRE(Eventually([&] { return ScalarValue(prometheus_url, share + "{job_id=\"rollout-5pct\"}") == 0.05; },
                     std::chrono::seconds(30)));
  CHECK(ScalarValue(prometheus_url, finished + "{job_id=\"rollout-5pct\"}") == 20);
  // 3 failed of the first 10 finished nodes, 10 more to go.
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/rollout-30pct", RunningJob("rollout-30pct", 7, 3, 10)).status == 200);

  for (const char* file : {"dashboards/ief-batch-jobs-overview.json", "dashboards/ief-batch-job-detail.json"}) {
    for (const auto& [title, expr] : DashboardQueries(file)) {
      INFO(file << " / " << title << ": " << expr);
      CHECK(Eventually([&] { return HasData(prometheus_url, expr); }, std::chrono::seconds(10)));
    }
  }

  // IEFBatchJobFailureRatioHigh: the 30% rollout goes pending (then firing, `for:` being 1s here) with its name
  // from ief_batch_job_info and reaches the receiver; the 5% one never.
  CHECK(Eventually([&] { return ScalarValue(prometheus_url, share + "{job_id=\"rollout-30pct\"}") == 0.3; },
                   std::chrono::seconds(30)));
  CHECK(ScalarValue(prometheus_url, finished + "{job_id=\"rollout-30pct\"}") == 10);
  Json ratio_alert;
  CHECK(Eventually(
      [&] { return !AlertState(prometheus_url, "IEFBatchJobFailureRatioHigh", "rollout-30pct", &ratio_alert).empty(); },
      std::chrono::seconds(30)));
  CHECK(ratio_alert.value("job_name", "") == "upgrade-rollout-30pct");
  CHECK(ratio_alert.value("severity", "") == "critical");
  CHECK(AlertState(prometheus_url, "IEFBatchJobFailureRatioHigh", "rollout-5pct").empty());
  CHECK(Eventually([&] { return webhook.Received("IEFBatchJobFailureRatioHigh", "rollout-30pct"); },
                   std::chrono::seconds(30)));
  CHECK_FALSE(webhook.Received("IEFBatchJobFailureRatioHigh", "rollout-5pct"));

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
