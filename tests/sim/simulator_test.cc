#include "sim/simulator.h"

#include <catch2/catch.hpp>

#include "model/job_parser.h"
#include "support/fixtures.h"
#include "support/manual_clock.h"
#include "upstream/auth/aksk_signer.h"
#include "upstream/auth/iam_auth.h"
#include "util/time.h"
#include "util/url.h"

namespace {

constexpr double kStart = 1700000000;

struct SimFixture {
  ief::testing::ManualClock clock{kStart};
  ief::Simulator sim;
  ief::JobParser parser;

  explicit SimFixture(ief::SimulatorOptions options = Defaults()) : sim(options, clock) {}
  void SetTime(double unix_seconds) { clock.Set(unix_seconds); }

  static ief::SimulatorOptions Defaults() {
    ief::SimulatorOptions options;
    options.project_id = "proj";
    options.token = "tok";
    options.generated_jobs = 3;
    options.tasks_per_job = 4;
    options.phase = std::chrono::seconds(10);
    return options;
  }

  ief::ServerReply Get(const std::string& path, const std::string& query = "", const std::string& token = "tok") {
    ief::ServerRequest request;
    request.method = "GET";
    request.path = path;
    request.query = query;
    request.headers["x-auth-token"] = token;
    return sim.Handle(request);
  }
  ief::ServerReply Control(const std::string& method, const std::string& path, const std::string& body = "") {
    ief::ServerRequest request;
    request.method = method;
    request.path = path;
    request.body = body;
    return sim.Handle(request);
  }
  ief::BatchJob Show(const std::string& job_id) {
    auto reply = Get("/v2/proj/productmgr/jobs/" + job_id);
    REQUIRE(reply.status == 200);
    auto job = parser.ParseShowBatchJob(reply.body);
    REQUIRE(job.ok());
    return *job;
  }
};

std::string HeaderOf(const ief::ServerReply& reply, const std::string& name) {
  for (const auto& [n, v] : reply.headers) {
    if (n == name) return v;
  }
  return "";
}

}  // namespace

TEST_CASE("generated jobs move Waiting -> Running -> their scripted outcome") {
  SimFixture f;
  auto ids = f.sim.JobIds();
  REQUIRE(ids.size() == 3);
  // Job 0 is scripted to succeed, job 1 to partly fail, job 2 to fail.
  f.SetTime(kStart - 100);
  CHECK(f.Show(ids[0]).status == "Waiting");
  f.SetTime(kStart + 100);
  ief::BatchJob done = f.Show(ids[0]);
  CHECK(done.status == "Successful");
  CHECK(done.task_success_count == 4);
  CHECK(done.task_failed_count == 0);
  CHECK(done.tasks.size() == 4);
  CHECK(done.targets.size() == 4);
  CHECK_FALSE(done.targets[0].NodeName().empty());
  CHECK(done.status_last_updated_at <= static_cast<int64_t>(kStart + 100));

  ief::BatchJob partly = f.Show(ids[1]);
  CHECK(partly.status == "Partially_successful");
  CHECK(partly.task_failed_count == 1);
  CHECK(partly.tasks.back().status == "Failed");
  CHECK_FALSE(partly.tasks.back().reason.empty());
  CHECK(f.Show(ids[2]).status == "Failed");
}

TEST_CASE("a job is Running between its waiting and its end") {
  SimFixture f;
  auto id = f.sim.JobIds()[0];
  // Find a moment inside the running phase by walking forward a second at a time.
  bool saw_running = false;
  for (int t = -20; t < 40 && !saw_running; ++t) {
    f.SetTime(kStart + t);
    saw_running = f.Show(id).status == "Running";
  }
  CHECK(saw_running);
}

TEST_CASE("new jobs appear over time") {
  ief::SimulatorOptions options = SimFixture::Defaults();
  options.new_job_every = std::chrono::seconds(5);
  SimFixture f(options);
  CHECK(f.sim.JobIds().size() == 3);
  f.SetTime(kStart + 11);
  CHECK(f.sim.JobIds().size() == 5);
}

TEST_CASE("the token and the project are checked") {
  SimFixture f;
  auto id = f.sim.JobIds()[0];
  auto denied = f.Get("/v2/proj/productmgr/jobs/" + id, "", "wrong");
  CHECK(denied.status == 401);
  CHECK_THAT(denied.body, Catch::Contains("APIGW.0301"));
  CHECK_FALSE(HeaderOf(denied, "X-Request-Id").empty());
  CHECK(f.Get("/v2/other/productmgr/jobs/" + id).status == 400);
  CHECK(f.Get("/v2/proj/productmgr/jobs/no-such-job").status == 404);
  CHECK(f.Control("PUT", "/sim/token", "rotated\n").status == 200);
  CHECK(f.Get("/v2/proj/productmgr/jobs/" + id).status == 401);
  CHECK(f.Get("/v2/proj/productmgr/jobs/" + id, "", "rotated").status == 200);
}

TEST_CASE("fixed documents are served verbatim and can be deleted") {
  SimFixture f;
  std::string seed = ief::testing::ReadFixture("show_batch_job_seed.json");
  CHECK(f.Control("PUT", "/sim/jobs/66273c66-f72e-4607-8769-3663d255fb83", seed).status == 200);
  auto reply = f.Get("/v2/proj/productmgr/jobs/66273c66-f72e-4607-8769-3663d255fb83");
  CHECK(reply.status == 200);
  CHECK(reply.body == seed);
  CHECK(f.Control("DELETE", "/sim/jobs/66273c66-f72e-4607-8769-3663d255fb83").status == 200);
  CHECK(f.Get("/v2/proj/productmgr/jobs/66273c66-f72e-4607-8769-3663d255fb83").status == 404);
}

TEST_CASE("many fixed documents are put at once, and the list shows them without their details") {
  SimFixture f;
  auto reply = f.Control("POST", "/sim/jobs",
                         R"([{"job_id":"a","status":"Running","created_at":5,"tasks":[{"task_id":"t"}]},)"
                         R"({"job_id":"b","status":"Failed","created_at":9}])");
  REQUIRE(reply.status == 200);
  CHECK(f.Show("a").tasks.size() == 1);
  auto list = f.parser.ParseListBatchJob(f.Get("/v2/proj/productmgr/jobs", "limit=100").body);
  REQUIRE(list.ok());
  CHECK(list->job_count == 5);  // 3 generated + 2 fixed
  bool listed_a = false;
  for (const auto& job : list->jobs) {
    if (job.job_id != "a") continue;
    listed_a = true;
    CHECK_FALSE(job.has_tasks);
    CHECK(job.status == "Running");
  }
  CHECK(listed_a);
  CHECK(f.Control("POST", "/sim/jobs", R"([{"job_id":"../x"}])").status == 400);
  CHECK(f.Control("POST", "/sim/jobs", "not json").status == 400);
}

TEST_CASE("the gateway's throttle answers 429 APIGW.0308 beyond its rate, and the counters tell calls apart") {
  ief::SimulatorOptions options = SimFixture::Defaults();
  options.throttle_per_second = 2;
  SimFixture f(options);
  auto id = f.sim.JobIds()[0];
  CHECK(f.Get("/v2/proj/productmgr/jobs/" + id).status == 200);
  CHECK(f.Get("/v2/proj/productmgr/jobs", "limit=10").status == 200);
  auto throttled = f.Get("/v2/proj/productmgr/jobs/" + id);  // the bucket of two is empty
  CHECK(throttled.status == 429);
  CHECK_THAT(throttled.body, Catch::Contains("APIGW.0308"));
  CHECK(HeaderOf(throttled, "Retry-After") == "1");
  f.clock.Advance(std::chrono::milliseconds(500));  // one request's worth at 2/s
  CHECK(f.Get("/v2/proj/productmgr/jobs/" + id).status == 200);
  CHECK(f.Get("/v2/proj/productmgr/jobs/" + id).status == 429);
  CHECK(f.sim.RequestCount("show") == 2);
  CHECK(f.sim.RequestCount("list") == 1);
  CHECK(f.sim.RequestCount("throttled") == 2);
  CHECK(f.sim.RequestCount(id) == 2);
}

TEST_CASE("faults are injected per job") {
  SimFixture f;
  auto ids = f.sim.JobIds();
  std::string path = "/v2/proj/productmgr/jobs/" + ids[0];

  f.Control("PUT", "/sim/faults/" + ids[0], R"({"kind":"http_500"})");
  CHECK(f.Get(path).status == 500);
  CHECK(f.Get("/v2/proj/productmgr/jobs/" + ids[1]).status == 200);  // other jobs unaffected

  f.Control("PUT", "/sim/faults/" + ids[0], R"({"kind":"http_429","retry_after":7})");
  auto throttled = f.Get(path);
  CHECK(throttled.status == 429);
  CHECK(HeaderOf(throttled, "Retry-After") == "7");

  f.Control("PUT", "/sim/faults/" + ids[0], R"({"kind":"garbage"})");
  CHECK_FALSE(f.parser.ParseShowBatchJob(f.Get(path).body).ok());

  f.Control("PUT", "/sim/faults/" + ids[0], R"({"kind":"truncated"})");
  auto truncated = f.Get(path);
  CHECK(truncated.status == 200);
  CHECK_FALSE(f.parser.ParseShowBatchJob(truncated.body).ok());

  f.Control("PUT", "/sim/faults/" + ids[0], R"({"kind":"delay","delay_ms":1})");
  CHECK(f.Get(path).status == 200);

  CHECK(f.Control("PUT", "/sim/faults/" + ids[0], R"({"kind":"nonsense"})").status == 400);
  f.Control("DELETE", "/sim/faults/" + ids[0]);
  CHECK(f.Get(path).status == 200);

  f.Control("PUT", "/sim/faults/*", R"({"kind":"http_500"})");
  CHECK(f.Get("/v2/proj/productmgr/jobs/" + ids[2]).status == 500);
}

TEST_CASE("ListBatchJob pages with limit and offset and filters by job_type") {
  ief::SimulatorOptions options = SimFixture::Defaults();
  options.generated_jobs = 25;
  SimFixture f(options);
  std::set<std::string> seen;
  for (int offset = 0; offset < 25; offset += 10) {
    auto reply = f.Get("/v2/proj/productmgr/jobs", "limit=10&offset=" + std::to_string(offset));
    REQUIRE(reply.status == 200);
    auto page = f.parser.ParseListBatchJob(reply.body);
    REQUIRE(page.ok());
    CHECK(page->job_count == 25);
    CHECK(page->jobs.size() == (offset == 20 ? 5u : 10u));
    for (const auto& job : page->jobs) seen.insert(job.job_id);
  }
  CHECK(seen.size() == 25);
  auto filtered = f.parser.ParseListBatchJob(f.Get("/v2/proj/productmgr/jobs", "limit=100&job_type=node_upgrade").body);
  REQUIRE(filtered.ok());
  CHECK(filtered->job_count == 8);  // every third of 25, starting at index 1
  CHECK(f.Get("/v2/proj/productmgr/jobs", "limit=0").status == 400);
  CHECK(f.sim.RequestCount("list") == 5);
}

TEST_CASE("PUT /sim/list makes ListBatchJob ignore offset and state any job_count, or none") {
  ief::SimulatorOptions options = SimFixture::Defaults();
  options.generated_jobs = 25;
  SimFixture f(options);
  auto page = [&](int offset) {
    auto reply = f.Get("/v2/proj/productmgr/jobs", "limit=10&offset=" + std::to_string(offset));
    REQUIRE(reply.status == 200);
    auto list = f.parser.ParseListBatchJob(reply.body);
    REQUIRE(list.ok());
    return *list;
  };
  REQUIRE(f.Control("PUT", "/sim/list", R"({"ignore_offset": true, "job_count": 1000000000000})").status == 200);
  CHECK(page(10).job_count == 1000000000000);
  CHECK(page(10).jobs[0].job_id == page(0).jobs[0].job_id);
  REQUIRE(f.Control("PUT", "/sim/list", R"({"job_count": null})").status == 200);
  CHECK_FALSE(page(0).job_count.has_value());
  CHECK(page(10).jobs[0].job_id != page(0).jobs[0].job_id);  // offset honoured again
  REQUIRE(f.Control("PUT", "/sim/list", R"({"job_count": -5})").status == 200);
  CHECK(page(0).job_count == -5);
  CHECK(f.Control("PUT", "/sim/list", R"({"job_count": "many"})").status == 400);
  REQUIRE(f.Control("DELETE", "/sim/list").status == 200);
  CHECK(page(0).job_count == 25);
}

namespace {

ief::ServerReply IamLogin(SimFixture& f, const std::string& password) {
  ief::IamAuthConfig config;
  config.domain = "demo-domain";
  config.user = "demo-user";
  ief::ServerRequest request;
  request.method = "POST";
  request.path = "/v3/auth/tokens";
  request.body = ief::IamPasswordRequestBody(config, password, "proj");
  return f.sim.Handle(request);
}

// A ServerRequest as CivetWeb would hand over the signed `request`.
ief::ServerRequest AsReceived(const ief::HttpRequest& request) {
  ief::ServerRequest received;
  received.method = ief::MethodName(request.method);
  auto url = ief::ParseHttpUrl(request.url).value();
  received.path = url.path;
  received.query = url.query;
  for (const auto& [name, value] : request.headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    received.headers[lower] = value;
  }
  return received;
}

}  // namespace

TEST_CASE("IAM tokens are issued for the right password and expire") {
  ief::SimulatorOptions options = SimFixture::Defaults();
  options.iam_token_lifetime = std::chrono::seconds(8);
  SimFixture f(options);
  auto denied = IamLogin(f, "wrong");
  CHECK(denied.status == 401);
  CHECK(f.sim.RequestCount("iam_rejected") == 1);

  auto granted = IamLogin(f, "demo-password");
  REQUIRE(granted.status == 201);
  std::string token = HeaderOf(granted, "X-Subject-Token");
  CHECK_THAT(granted.body, Catch::Contains("\"expires_at\":\""));
  auto id = f.sim.JobIds()[0];
  CHECK(f.Get("/v2/proj/productmgr/jobs/" + id, "", token).status == 200);
  f.clock.Advance(std::chrono::seconds(9));
  CHECK(f.Get("/v2/proj/productmgr/jobs/" + id, "", token).status == 401);
  CHECK(f.sim.RequestCount("expired_token") == 1);
}

TEST_CASE("PUT /sim/iam makes IAM state an expiry already past, while the token still works") {
  ief::SimulatorOptions options = SimFixture::Defaults();
  options.iam_token_lifetime = std::chrono::hours(1);
  SimFixture f(options);
  REQUIRE(f.Control("PUT", "/sim/iam", R"({"expires_in": -3600})").status == 200);
  auto granted = IamLogin(f, "demo-password");
  REQUIRE(granted.status == 201);
  CHECK_THAT(granted.body, Catch::StartsWith("{\"token\":{\"expires_at\":\"" +
                                             ief::FormatIso8601Utc(ief::FromUnixSeconds(kStart - 3600)) + "\","));
  CHECK_THAT(granted.body, !Catch::Contains("issued_at"));
  auto id = f.sim.JobIds()[0];
  CHECK(f.Get("/v2/proj/productmgr/jobs/" + id, "", HeaderOf(granted, "X-Subject-Token")).status == 200);
  CHECK(f.Control("PUT", "/sim/iam", "{}").status == 400);
  REQUIRE(f.Control("DELETE", "/sim/iam").status == 200);
  CHECK_THAT(IamLogin(f, "demo-password").body, Catch::Contains("\"issued_at\""));
}

TEST_CASE("AK/SK signatures are verified") {
  ief::SimulatorOptions options = SimFixture::Defaults();
  options.access_key = "AK1";
  options.secret_key = "SK1";
  SimFixture f(options);
  auto id = f.sim.JobIds()[0];
  ief::HttpRequest request;
  request.url = "http://127.0.0.1:9/v2/proj/productmgr/jobs/" + id;
  request.headers = {{"Content-Type", "application/json"}, {"X-Project-Id", "proj"}};
  REQUIRE(ief::SignRequest(request, "AK1", "SK1", f.clock.Wall()).ok());
  CHECK(f.sim.Handle(AsReceived(request)).status == 200);
  CHECK(f.sim.RequestCount("aksk_verified") == 1);

  ief::HttpRequest wrong_secret = request;
  wrong_secret.headers.resize(2);
  REQUIRE(ief::SignRequest(wrong_secret, "AK1", "not-the-secret", f.clock.Wall()).ok());
  CHECK(f.sim.Handle(AsReceived(wrong_secret)).status == 401);

  ief::ServerRequest tampered = AsReceived(request);
  tampered.headers["x-project-id"] = "someone-else";
  CHECK(f.sim.Handle(tampered).status == 401);

  f.clock.Advance(std::chrono::seconds(16 * 60));  // the signature is now too old
  auto stale = f.sim.Handle(AsReceived(request));
  CHECK(stale.status == 401);
  CHECK_THAT(stale.body, Catch::Contains("APIGW.0303"));
  CHECK(f.sim.RequestCount("aksk_rejected") == 3);
}

TEST_CASE("an eventually consistent API: details lag, list items twice, timestamps moving backwards") {
  SimFixture f;
  const std::string id = f.sim.JobIds()[0];
  f.SetTime(kStart + 1000);  // long finished
  const int64_t finished_at = *f.Show(id).status_last_updated_at;

  REQUIRE(f.Control("PUT", "/sim/consistency", R"({"timestamps_backwards": true})").status == 200);
  std::vector<int64_t> seen;
  for (int i = 0; i < 11; ++i) seen.push_back(*f.Show(id).status_last_updated_at);
  CHECK(seen == std::vector<int64_t>{finished_at - 1, finished_at - 2, finished_at - 3, finished_at - 4,
                                     finished_at - 5, finished_at - 6, finished_at - 7, finished_at - 8,
                                     finished_at - 9, finished_at - 9, finished_at - 9});

  REQUIRE(f.Control("PUT", "/sim/consistency", R"({"details_lag_ms": 1000000, "duplicate_list_items": true})").status ==
          200);
  CHECK(f.Show(id).status == "Running");  // what was true 1,000 s ago
  auto listed = f.parser.ParseListBatchJob(f.Get("/v2/proj/productmgr/jobs", "limit=100").body);
  REQUIRE(listed.ok());
  std::vector<std::string> statuses;
  for (const ief::BatchJob& job : listed->jobs) {
    if (job.job_id == id) statuses.push_back(job.status);
  }
  CHECK(statuses == std::vector<std::string>{"Successful", "Running"});
  CHECK(listed->job_count == static_cast<int64_t>(listed->jobs.size()));

  // Fixed jobs: the version put before the current one, while the current one is younger than the lag.
  f.Control("PUT", "/sim/jobs/fixed", R"({"job_id":"fixed","status":"Running","created_at":1,"status_last_updated_at":2})");
  f.Control("PUT", "/sim/jobs/fixed", R"({"job_id":"fixed","status":"Failed","created_at":1,"status_last_updated_at":3})");
  CHECK(f.Show("fixed").status == "Running");
  f.SetTime(kStart + 1000 + 1001);
  CHECK(f.Show("fixed").status == "Failed");
  CHECK(f.Control("PUT", "/sim/consistency", R"({"details_lag_ms": "soon"})").status == 400);
}
