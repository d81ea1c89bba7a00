#include "ief/ief_client.h"

#include <catch2/catch.hpp>
#include <vector>

#include "support/fixtures.h"

namespace {

// Answers with a canned response and remembers the request.
class FakeTransport : public ief::HttpTransport {
 public:
  ief::HttpResponse next;
  ief::HttpRequest last;
  int calls = 0;
  ief::HttpResponse Send(const ief::HttpRequest& request) override {
    last = request;
    ++calls;
    return next;
  }
  std::string Header(const std::string& name) const {
    for (const auto& [n, v] : last.headers) {
      if (n == name) return v;
    }
    return "<absent>";
  }
};

struct RecordingObserver : ief::ApiObserver {
  std::vector<std::string> requests;
  int parse_errors = 0;
  void OnRequest(const std::string& project, ief::ApiOperation op, const std::string& code, double) override {
    requests.push_back(project + "/" + std::string(ief::OperationName(op)) + "/" + code);
  }
  void OnParseError(const std::string&, ief::ApiOperation) override { ++parse_errors; }
};

ief::HttpResponse Answer(long status, std::string body, std::string request_id = "req-1") {
  ief::HttpResponse response;
  response.transport_ok = true;
  response.status = status;
  response.body = std::move(body);
  response.request_id = std::move(request_id);
  return response;
}

ief::ProjectContext Project(std::string instance_id = "") {
  return {"p1", "https://ief.example.com", std::move(instance_id),
          std::make_shared<ief::TokenAuthenticator>(std::make_shared<ief::SecretSource>("token", "tok", "")), nullptr};
}

ief::IefClientOptions NoRetries() {
  ief::IefClientOptions options;
  options.retry.max_retries = 0;
  return options;
}

ief::IefClientOptions FastRetries(int max_retries) {
  ief::IefClientOptions options;
  options.retry.max_retries = max_retries;
  options.retry.base_delay = std::chrono::milliseconds(1);
  options.retry.max_delay = std::chrono::milliseconds(2);
  return options;
}

// Hands out token-1, token-2...; after a rejection, says whether renewing helps.
struct CountingAuthenticator : ief::RequestAuthenticator {
  int issued = 0;
  int rejections = 0;
  bool renewal_helps = true;
  std::string failure;
  ief::Status Authenticate(ief::HttpRequest& request) override {
    if (!failure.empty()) return ief::Error{failure};
    request.headers.emplace_back("X-Auth-Token", "token-" + std::to_string(++issued));
    return ief::Status::Ok();
  }
  bool RenewAfterRejection(const ief::HttpRequest&) override {
    ++rejections;
    return renewal_helps;
  }
};

// Answers each request from a list, in order.
class SequenceTransport : public ief::HttpTransport {
 public:
  std::vector<ief::HttpResponse> answers;
  std::vector<ief::HttpRequest> requests;
  ief::HttpResponse Send(const ief::HttpRequest& request) override {
    requests.push_back(request);
    ief::HttpResponse next = answers.front();
    if (answers.size() > 1) answers.erase(answers.begin());
    return next;
  }
};

}  // namespace

TEST_CASE("ShowBatchJob sends the documented request") {
  FakeTransport transport;
  transport.next = Answer(200, ief::testing::ReadFixture("show_batch_job_seed.json"));
  RecordingObserver observer;
  ief::IefClient client(transport, &observer);
  auto result = client.ShowBatchJob(Project("db953bf7"), "66273c66-f72e-4607-8769-3663d255fb83");
  REQUIRE(result.ok());
  CHECK(result.job.job_name == "aaa");
  CHECK(transport.last.method == "GET");
  CHECK(transport.last.url == "https://ief.example.com/v2/p1/productmgr/jobs/66273c66-f72e-4607-8769-3663d255fb83");
  CHECK(transport.Header("X-Auth-Token") == "tok");
  CHECK(transport.Header("Content-Type") == "application/json");
  CHECK(transport.Header("ief-instance-id") == "db953bf7");
  CHECK(observer.requests == std::vector<std::string>{"p1/show_job/200"});
}

TEST_CASE("an answer with the fingerprint the caller already has is not parsed again") {
  FakeTransport transport;
  transport.next = Answer(200, ief::testing::ReadFixture("show_batch_job_seed.json"));
  ief::IefClient client(transport, nullptr);
  auto first = client.ShowBatchJob(Project(), "j");
  REQUIRE(first.ok());
  CHECK_FALSE(first.unchanged);
  CHECK(first.body_fingerprint != 0);

  auto again = client.ShowBatchJob(Project(), "j", first.body_fingerprint);
  REQUIRE(again.ok());
  CHECK(again.unchanged);
  CHECK(again.job.job_name.empty());  // not parsed

  transport.next.body.back() = ' ';  // one byte differs: parsed as new
  auto changed = client.ShowBatchJob(Project(), "j", first.body_fingerprint);
  REQUIRE(changed.ok());
  CHECK_FALSE(changed.unchanged);
  CHECK(changed.job.job_name == "aaa");
  CHECK(changed.body_fingerprint != first.body_fingerprint);
}

TEST_CASE("no ief-instance-id header without an instance id") {
  FakeTransport transport;
  transport.next = Answer(200, R"({"job_id":"j"})");
  ief::IefClient client(transport, nullptr);
  REQUIRE(client.ShowBatchJob(Project(), "j").ok());
  CHECK(transport.Header("ief-instance-id") == "<absent>");
}

TEST_CASE("answers are classified") {
  FakeTransport transport;
  RecordingObserver observer;
  ief::IefClient client(transport, &observer, NoRetries());

  transport.next = Answer(404, R"({"error_code":"IEF.011404","error_msg":"job not found"})", "req-404");
  auto not_found = client.ShowBatchJob(Project(), "gone");
  CHECK(not_found.kind == ief::FetchResult::Kind::kNotFound);
  CHECK(not_found.api_reachable());
  CHECK(not_found.request_id == "req-404");
  CHECK(not_found.message == "HTTP 404: IEF.011404 job not found");

  transport.next = Answer(401, R"({"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information"})");
  auto unauthorized = client.ShowBatchJob(Project(), "j");
  CHECK(unauthorized.kind == ief::FetchResult::Kind::kHttpError);
  CHECK_FALSE(unauthorized.api_reachable());
  CHECK(unauthorized.message == "HTTP 401: APIGW.0301 Incorrect IAM authentication information");

  transport.next = Answer(502, "<html>bad gateway</html>");
  CHECK(client.ShowBatchJob(Project(), "j").message == "HTTP 502");

  transport.next = Answer(200, "{\"job_id\":\"j\",\"status\":");
  auto garbage = client.ShowBatchJob(Project(), "j");
  CHECK(garbage.kind == ief::FetchResult::Kind::kParseError);
  CHECK(observer.parse_errors == 1);

  transport.next = ief::HttpResponse{};
  transport.next.transport_error = "Timeout was reached";
  auto timeout = client.ShowBatchJob(Project(), "j");
  CHECK(timeout.kind == ief::FetchResult::Kind::kTransportError);
  CHECK(timeout.message == "Timeout was reached");

  CHECK(observer.requests == std::vector<std::string>{"p1/show_job/404", "p1/show_job/401", "p1/show_job/502",
                                                      "p1/show_job/200", "p1/show_job/error"});
}

TEST_CASE("a failing authenticator sends nothing") {
  FakeTransport transport;
  ief::IefClient client(transport, nullptr);
  ief::ProjectContext project = Project();
  auto auth = std::make_shared<CountingAuthenticator>();
  auth->failure = "IAM token unavailable";
  project.authenticator = auth;
  auto result = client.ShowBatchJob(project, "j");
  CHECK(result.kind == ief::FetchResult::Kind::kAuthError);
  CHECK(result.message == "IAM token unavailable");
  CHECK(transport.calls == 0);
}

TEST_CASE("a 401 renews the credentials and resends exactly once") {
  SequenceTransport transport;
  transport.answers = {Answer(401, R"({"error_code":"APIGW.0301","error_msg":"token expired"})"),
                       Answer(200, R"({"job_id":"j"})")};
  RecordingObserver observer;
  ief::IefClient client(transport, &observer, NoRetries());
  ief::ProjectContext project = Project();
  auto auth = std::make_shared<CountingAuthenticator>();
  project.authenticator = auth;
  CHECK(client.ShowBatchJob(project, "j").ok());
  REQUIRE(transport.requests.size() == 2);
  CHECK(transport.requests[1].headers.back().second == "token-2");
  CHECK(observer.requests == std::vector<std::string>{"p1/show_job/401", "p1/show_job/200"});

  // A second 401 is final: no loop.
  transport.requests.clear();
  transport.answers = {Answer(401, "{}")};
  CHECK(client.ShowBatchJob(project, "j").http_status == 401);
  CHECK(transport.requests.size() == 2);

  // When renewing cannot help, nothing is resent.
  transport.requests.clear();
  auth->renewal_helps = false;
  CHECK(client.ShowBatchJob(project, "j").http_status == 401);
  CHECK(transport.requests.size() == 1);
}

TEST_CASE("transport errors, 429 and 5xx are retried up to max_retries, nothing else is") {
  SequenceTransport transport;
  ief::HttpResponse timeout;
  timeout.transport_error = "Timeout was reached";
  transport.answers = {timeout, Answer(503, "{}"), Answer(200, R"({"job_id":"j"})")};
  RecordingObserver observer;
  ief::IefClient client(transport, &observer, FastRetries(2));
  CHECK(client.ShowBatchJob(Project(), "j").ok());
  CHECK(observer.requests == std::vector<std::string>{"p1/show_job/error", "p1/show_job/503", "p1/show_job/200"});

  observer.requests.clear();
  transport.answers = {Answer(500, "{}")};
  CHECK(client.ShowBatchJob(Project(), "j").http_status == 500);
  CHECK(observer.requests.size() == 3);  // the first try and two retries

  for (long status : {400L, 403L, 404L, 501L}) {
    observer.requests.clear();
    transport.answers = {Answer(status, "{}")};
    client.ShowBatchJob(Project(), "j");
    CHECK(observer.requests.size() == 1);
  }
}

TEST_CASE("retries stop at the budget, and Retry-After is honoured") {
  SequenceTransport transport;
  ief::HttpResponse throttled = Answer(429, "{}");
  throttled.retry_after = "3600";  // an hour: far beyond the budget
  transport.answers = {throttled};
  ief::IefClientOptions options = FastRetries(5);
  options.retry_budget = std::chrono::seconds(2);
  ief::IefClient client(transport, nullptr, options);
  auto started = std::chrono::steady_clock::now();
  CHECK(client.ShowBatchJob(Project(), "j").http_status == 429);
  CHECK(transport.requests.size() == 1);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}

TEST_CASE("a cancellation ends the retry wait at once") {
  SequenceTransport transport;
  transport.answers = {Answer(503, "{}")};
  ief::Cancellation cancellation;
  cancellation.Cancel();
  ief::IefClientOptions options;
  options.retry.base_delay = std::chrono::seconds(30);
  options.cancellation = &cancellation;
  ief::IefClient client(transport, nullptr, options);
  auto started = std::chrono::steady_clock::now();
  client.ShowBatchJob(Project(), "j");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}
