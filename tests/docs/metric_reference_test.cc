// docs/metrics.md against the exposition the exporter's own code renders: every family of every collector (each
// observer called once, the TLS collector with a real certificate), the golden job exposition and a running job.
// Both ways: what is emitted is documented with its type and labels, and what is documented is emitted. The
// integration tests check the demo's real /metrics against the reference too.
#include <prometheus/registry.h>

#include <catch2/catch.hpp>

#include "metrics/api_metrics.h"
#include "metrics/exposition.h"
#include "metrics/job_text.h"
#include "metrics/poll_metrics.h"
#include "metrics/process_collector.h"
#include "metrics/rate_limit_collector.h"
#include "support/certificates.h"
#include "support/fixtures.h"
#include "support/metric_reference.h"
#include "web/tls_collector.h"
#include "web/tls_server.h"

namespace {

using ief::testing::FamilyShapes;

// Every history and data-quality counter with a series: each PollObserver report once (the node counter past its
// cap, so the overflow counter has one too).
void ReportEverything(ief::PollMetrics& poll) {
  poll.Configure({.node_failure_metrics = true});
  ief::JobLabels job{.project_id = "p", .job_type = "node_upgrade"};
  poll.OnInvalidJobId("p");
  poll.OnListWalkCut("p", "nothing_new");
  poll.OnJobSeen(job);
  poll.OnJobFinished(job, "Failed", 60.0);
  poll.OnJobRetried(job);
  poll.OnJobStarted(job, 5.0);
  poll.OnTasksFinished(job, "Failed", "timeout", 1);
  for (size_t node = 0; node <= ief::PollMetrics::kMaxNodeSeries; ++node) {
    poll.OnNodeTaskFailed(job, "node-" + std::to_string(node));
  }
  poll.OnImplausibleDuration(job);
  poll.OnStaleAnswer(job, "details");
  poll.OnDuplicateListing("p", 2);
}

void ReportApiTraffic(ief::ApiMetrics& api) {
  api.OnRequest("p", ief::ApiOperation::kShowJob, "200", 0.1);
  api.OnParseError("p", ief::ApiOperation::kShowJob);
  api.OnTokenExpiry("p", ief::FromUnixSeconds(1700000000));
  api.OnTokenClockSkew("p", 0.5);
}

// The snapshot of the golden exposition's test plus a running job (the progress ratio is only for active jobs).
std::string JobExposition() {
  auto running = std::make_shared<ief::BatchJob>();
  running->job_id = "running";
  running->status = "Running";
  running->task_total_count = 2;
  auto job = std::make_shared<ief::JobSnapshot>();
  job->project_id = "p";
  job->job_id = "running";
  job->last_good = running;
  job->last_fetch_ok = true;
  ief::Snapshot snapshot;
  snapshot.jobs = {job};
  return ief::testing::ReadFixture("seed_exposition.prom") + ief::RenderSnapshot(snapshot);
}

std::string CollectorExposition() {
  ief::testing::TestCertificate certificate("ief-exporter", "IP:127.0.0.1");
  REQUIRE(certificate.ok);
  ief::TlsServerConfig tls_config;
  tls_config.cert.file = certificate.cert.path();
  tls_config.key.file = certificate.key.path();
  auto tls = ief::TlsServerContext::Create(tls_config);
  REQUIRE(tls.ok());

  prometheus::Registry registry;
  ief::PollMetrics poll(registry);
  ReportEverything(poll);
  ief::ApiMetrics api(registry);
  ReportApiTraffic(api);
  ief::ExporterInfoMetrics info(registry, {});
  info.RecordConfigLoad(ief::Outcome::kSucceeded, ief::FromUnixSeconds(1700000000));
  info.RecordStateWrite(ief::Outcome::kSucceeded, ief::FromUnixSeconds(1700000000));
  ief::RateLimitCollector rate_limits([] {
    return std::vector<std::pair<std::string, ief::RateLimiterStats>>{{"https://ief.example", {}}};
  });
  ief::ProcessCollector process;
  ief::TlsCollector tls_metrics(*tls);

  ief::Exposition exposition;
  for (const prometheus::Collectable* source :
       std::initializer_list<const prometheus::Collectable*>{&registry, &rate_limits, &process, &tls_metrics}) {
    exposition.Add(source);
  }
  return exposition.Render();
}

}  // namespace

TEST_CASE("docs/metrics.md documents every family the exporter renders, with its type and labels, and no other") {
  FamilyShapes documented = ief::testing::DocumentedFamilies();
  REQUIRE(documented.size() >= 50);
  FamilyShapes exposed = ief::testing::ExposedFamilies(JobExposition() + CollectorExposition());

  for (const std::string& problem : ief::testing::UndocumentedShapes(documented, exposed)) FAIL_CHECK(problem);
  for (const auto& [name, shape] : documented) {
    INFO(name << " is in docs/metrics.md");
    CHECK(exposed.count(name) == 1);
    // A family with no sample shows no labels to compare.
    if (exposed.count(name) == 1) CHECK_FALSE(exposed[name].label_sets.empty());
  }
}

TEST_CASE("the reference check notices a family missing from the reference, a wrong type and wrong labels") {
  FamilyShapes documented = ief::testing::DocumentedFamilies();
  FamilyShapes exposed = ief::testing::ExposedFamilies(
      "# TYPE ief_up counter\nief_up{project_id=\"p\",zone=\"z\"} 1\n"
      "# TYPE ief_unheard_of gauge\nief_unheard_of 1\n"
      "# TYPE ief_api_request_duration_seconds histogram\n"
      "ief_api_request_duration_seconds_bucket{project_id=\"p\",operation=\"show_job\",le=\"1\"} 1\n"
      "ief_api_request_duration_seconds_sum{project_id=\"p\",operation=\"show_job\"} 1\n");
  std::vector<std::string> problems = ief::testing::UndocumentedShapes(documented, exposed);
  REQUIRE(problems.size() == 3);
  CHECK(problems[0] == "ief_unheard_of (gauge) is not in docs/metrics.md");
  CHECK(problems[1] == "ief_up is a counter, docs/metrics.md says gauge");
  CHECK(problems[2] == "ief_up has labels {project_id,zone}, docs/metrics.md says {project_id}");
}
