#include "upstream/ief_client.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/manual_clock.h"
#include "support/process.h"

using ief::ErrorKind;
using ief::RequestPriority;

namespace {

// What a fake transport answers: an HTTP answer, or a transport error.
struct Canned {
  long status = 200;
  std::string body;
  std::string request_id = "req-1";
  std::string retry_after;
  std::optional<ief::Error> error;

  ief::Result<ief::HttpResponse> ToResult() const {
    if (error) return *error;
    ief::HttpResponse response;
    response.status = status;
    response.body = body;
    response.request_id = request_id;
    response.retry_after = retry_after;
    return response;
  }
};

Canned Answer(long status, std::string body, std::string request_id = "req-1") {
  return Canned{.status = status, .body = std::move(body), .request_id = std::move(request_id)};
}

Canned TransportFailure(std::string message) {
  return Canned{.error = ief::Error(ErrorKind::kTransport, std::move(message))};
}

// Answers each request from a list, in order; the last answer repeats.
class SequenceTransport : public ief::HttpTransport {
 public:
  std::vector<Canned> answers;
  std::vector<ief::HttpRequest> requests;
  ief::Result<ief::HttpResponse> Send(const ief::HttpRequest& request) override {
    requests.push_back(request);
    Canned next = answers.front();
    if (answers.size() > 1) answers.erase(answers.begin());
    return next.ToResult();
  }
  std::string Header(std::string_view name) const {
    std::string_view value = requests.back().Header(name);
    return value.empty() ? "<absent>" : std::string(value);
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

ief::ProjectContext Project(std::string instance_id = "") {
  return {"p1", "https://ief.example.com", std::move(instance_id),
          std::make_shared<ief::TokenAuthenticator>(std::make_shared<ief::SecretSource>("token", "tok", "")), nullptr};
}

ief::IefClientOptions NoRetries() { return {.retry = {.max_retries = 0}}; }

ief::IefClientOptions FastRetries(int max_retries) {
  return {.retry = {.max_retries = max_retries,
                    .base_delay = std::chrono::milliseconds(1),
                    .max_delay = std::chrono::milliseconds(2)}};
}

// Hands out token-1, token-2...; after a rejection, says whether renewing helps.
struct CountingAuthenticator : ief::RequestAuthenticator {
  int issued = 0;
  int rejections = 0;
  bool renewal_helps = true;
  std::string failure;
  ief::Status Authenticate(ief::HttpRequest& request) override {
    if (!failure.empty()) return ief::Error(ErrorKind::kAuthUnavailable, failure);
    request.headers.emplace_back("X-Auth-Token", "token-" + std::to_string(++issued));
    return ief::Status::Ok();
  }
  bool RenewAfterRejection(const ief::HttpRequest&) override {
    ++rejections;
    return renewal_helps;
  }
};

constexpr RequestPriority kUrgent = RequestPriority::kUrgent;

}  // namespace

TEST_CASE("ShowBatchJob sends the documented request") {
  SequenceTransport transport;
  transport.answers = {Answer(200, ief::testing::ReadFixture("show_batch_job_seed.json"))};
  RecordingObserver observer;
  ief::IefClient client(transport, &observer, {.request_timeout = std::chrono::seconds(3)});
  auto result = client.ShowBatchJob(Project("db953bf7"), "66273c66-f72e-4607-8769-3663d255fb83", kUrgent);
  REQUIRE(result.ok());
  CHECK(result->job_name == "aaa");
  const ief::HttpRequest& sent = transport.requests.back();
  CHECK(sent.method == ief::HttpMethod::kGet);
  CHECK(sent.url == "https://ief.example.com/v2/p1/productmgr/jobs/66273c66-f72e-4607-8769-3663d255fb83");
  CHECK(sent.timeout == std::chrono::seconds(3));
  CHECK(transport.Header("X-Auth-Token") == "tok");
  CHECK(transport.Header("Content-Type") == "application/json");
  CHECK(transport.Header("ief-instance-id") == "db953bf7");
  CHECK(observer.requests == std::vector<std::string>{"p1/show_job/200"});
}

TEST_CASE("no ief-instance-id header without an instance id") {
  SequenceTransport transport;
  transport.answers = {Answer(200, R"({"job_id":"j"})")};
  ief::IefClient client(transport, nullptr);
  REQUIRE(client.ShowBatchJob(Project(), "j", kUrgent).ok());
  CHECK(transport.Header("ief-instance-id") == "<absent>");
}

TEST_CASE("a job id that is not one safe path segment is never put in a URL") {
  SequenceTransport transport;
  transport.answers = {Answer(200, R"({"job_id":"j"})")};
  ief::IefClient client(transport, nullptr);
  for (const std::string& id : {std::string("../../../../etc/passwd"), std::string("a?b=c"), std::string("a#b"),
                                std::string("a%2F"), std::string("a b"), std::string("a\0b", 3), std::string(".."),
                                std::string(10000, 'a'), std::string()}) {
    auto result = client.ShowBatchJob(Project(), id, kUrgent);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::kInvalidArgument);
  }
  CHECK(transport.requests.empty());
}

TEST_CASE("an answer about another job is refused") {
  SequenceTransport transport;
  transport.answers = {Answer(200, R"({"job_id":"other"})")};
  RecordingObserver observer;
  ief::IefClient client(transport, &observer);
  auto result = client.ShowBatchJob(Project(), "asked", kUrgent);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::kParse);
  CHECK(result.error().message == "the answer describes job other, not the one asked for");
  CHECK(observer.parse_errors == 1);
}

TEST_CASE("answers are classified by kind") {
  SequenceTransport transport;
  RecordingObserver observer;
  ief::IefClient client(transport, &observer, NoRetries());

  transport.answers = {Answer(404, R"({"error_code":"IEF.011404","error_msg":"job not found"})", "req-404")};
  auto not_found = client.ShowBatchJob(Project(), "gone", kUrgent);
  REQUIRE_FALSE(not_found.ok());
  CHECK(not_found.error().kind == ErrorKind::kNotFound);
  CHECK(not_found.error().api_reachable());
  CHECK(not_found.error().request_id == "req-404");
  CHECK(not_found.error().message == "HTTP 404: IEF.011404 job not found");

  transport.answers = {
      Answer(401, R"({"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information"})")};
  auto unauthorized = client.ShowBatchJob(Project(), "j", kUrgent);
  CHECK(unauthorized.error().kind == ErrorKind::kHttpStatus);
  CHECK(unauthorized.error().http_status == 401);
  CHECK_FALSE(unauthorized.error().api_reachable());
  CHECK(unauthorized.error().message == "HTTP 401: APIGW.0301 Incorrect IAM authentication information");

  transport.answers = {Answer(302, "")};
  CHECK(client.ShowBatchJob(Project(), "j", kUrgent).error().kind == ErrorKind::kHttpStatus);

  transport.answers = {Answer(502, "<html>bad gateway</html>")};
  CHECK(client.ShowBatchJob(Project(), "j", kUrgent).error().message == "HTTP 502");

  transport.answers = {Answer(200, "{\"job_id\":\"j\",\"status\":")};
  auto garbage = client.ShowBatchJob(Project(), "j", kUrgent);
  CHECK(garbage.error().kind == ErrorKind::kParse);
  CHECK(observer.parse_errors == 1);

  transport.answers = {TransportFailure("Timeout was reached")};
  auto timeout = client.ShowBatchJob(Project(), "j", kUrgent);
  CHECK(timeout.error().kind == ErrorKind::kTransport);
  CHECK(timeout.error().message == "Timeout was reached");

  CHECK(observer.requests == std::vector<std::string>{"p1/show_job/404", "p1/show_job/401", "p1/show_job/302",
                                                      "p1/show_job/502", "p1/show_job/200", "p1/show_job/error"});
}

TEST_CASE("a failing authenticator sends nothing") {
  SequenceTransport transport;
  ief::IefClient client(transport, nullptr);
  ief::ProjectContext project = Project();
  auto auth = std::make_shared<CountingAuthenticator>();
  auth->failure = "IAM token unavailable";
  project.authenticator = auth;
  auto result = client.ShowBatchJob(project, "j", kUrgent);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::kAuthUnavailable);
  CHECK(result.error().message == "IAM token unavailable");
  CHECK(transport.requests.empty());
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
  CHECK(client.ShowBatchJob(project, "j", kUrgent).ok());
  REQUIRE(transport.requests.size() == 2);
  CHECK(transport.requests[1].headers.back().second == "token-2");
  CHECK(observer.requests == std::vector<std::string>{"p1/show_job/401", "p1/show_job/200"});

  // A second 401 is final: no loop.
  transport.requests.clear();
  transport.answers = {Answer(401, "{}")};
  CHECK(client.ShowBatchJob(project, "j", kUrgent).error().http_status == 401);
  CHECK(transport.requests.size() == 2);

  // When renewing cannot help, nothing is resent.
  transport.requests.clear();
  auth->renewal_helps = false;
  CHECK(client.ShowBatchJob(project, "j", kUrgent).error().http_status == 401);
  CHECK(transport.requests.size() == 1);
}

TEST_CASE("transport errors, 429 and 5xx are retried up to max_retries, nothing else is") {
  SequenceTransport transport;
  transport.answers = {TransportFailure("Timeout was reached"), Answer(503, "{}"), Answer(200, R"({"job_id":"j"})")};
  RecordingObserver observer;
  ief::IefClient client(transport, &observer, FastRetries(2));
  CHECK(client.ShowBatchJob(Project(), "j", kUrgent).ok());
  CHECK(observer.requests == std::vector<std::string>{"p1/show_job/error", "p1/show_job/503", "p1/show_job/200"});

  observer.requests.clear();
  transport.answers = {Answer(500, "{}")};
  CHECK(client.ShowBatchJob(Project(), "j", kUrgent).error().http_status == 500);
  CHECK(observer.requests.size() == 3);  // the first try and two retries

  for (long status : {400L, 403L, 404L, 501L}) {
    observer.requests.clear();
    transport.answers = {Answer(status, "{}")};
    (void)client.ShowBatchJob(Project(), "j", kUrgent);
    CHECK(observer.requests.size() == 1);
  }
}

TEST_CASE("a 429 slows the endpoint's rate limiter down and pauses it") {
  SequenceTransport transport;
  Canned throttled = Answer(429, R"({"error_code":"APIGW.0308","error_msg":"throttled"})");
  throttled.retry_after = "1";
  transport.answers = {throttled};
  ief::IefClient client(transport, nullptr, NoRetries());
  ief::ProjectContext project = Project();
  project.rate_limiter = std::make_shared<ief::EndpointRateLimiter>(20);
  CHECK(client.ShowBatchJob(project, "j", kUrgent).error().http_status == 429);
  CHECK(project.rate_limiter->Stats().throttled == 1);
  CHECK(project.rate_limiter->Stats().rate < 20);
  CHECK_FALSE(project.rate_limiter->TryAcquire(RequestPriority::kList));  // paused for the Retry-After
}

TEST_CASE("retries stop at the budget, and Retry-After is honoured") {
  SequenceTransport transport;
  Canned throttled = Answer(429, "{}");
  throttled.retry_after = "3600";  // an hour: far beyond the budget
  transport.answers = {throttled};
  ief::IefClientOptions options = FastRetries(5);
  options.retry_budget = std::chrono::seconds(2);
  ief::IefClient client(transport, nullptr, options);
  auto started = std::chrono::steady_clock::now();
  CHECK(client.ShowBatchJob(Project(), "j", kUrgent).error().http_status == 429);
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
  auto result = client.ShowBatchJob(Project(), "j", kUrgent);
  CHECK(result.error().kind == ErrorKind::kCancelled);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}

TEST_CASE("the retry back-off waits on the client's clock: a test moves it, nothing sleeps") {
  SequenceTransport transport;
  transport.answers = {Answer(503, "{}"), Answer(200, R"({"job_id":"j"})")};
  ief::testing::ManualClock clock;
  ief::Cancellation cancellation;
  ief::IefClientOptions options;
  options.retry = {.max_retries = 1, .base_delay = std::chrono::hours(1), .max_delay = std::chrono::hours(1)};
  options.retry_budget = std::chrono::hours(2);
  options.clock = &clock;
  options.cancellation = &cancellation;
  ief::IefClient client(transport, nullptr, options);
  std::atomic<bool> done = false;
  bool ok = false;
  std::thread fetch([&] {
    ok = client.ShowBatchJob(Project(), "j", kUrgent).ok();
    done = true;
  });
  const ief::SteadyTime clock_started = clock.Steady();
  const bool released = ief::testing::Eventually([&] {
    clock.Advance(std::chrono::minutes(10));
    return done.load();
  });
  const ief::SteadyTime released_at = clock.Steady();
  if (!released) cancellation.Cancel();  // a wait in real time: fail, do not hang
  fetch.join();
  REQUIRE(released);
  CHECK(ok);
  CHECK(released_at - clock_started >= std::chrono::minutes(30));  // jitter: at least half the delay
}

TEST_CASE("ListBatchJobPage asks for a page, newest first") {
  SequenceTransport transport;
  transport.answers = {Answer(200, R"({"job_count":3,"jobs":[{"job_id":"a"},{"job_id":"b"}]})")};
  ief::IefClient client(transport, nullptr);
  auto page = client.ListBatchJobPage(Project(), 10, 2);
  REQUIRE(page.ok());
  CHECK(page->job_count == 3);
  CHECK(page->jobs.size() == 2);
  CHECK(transport.requests.back().url ==
        "https://ief.example.com/v2/p1/productmgr/jobs?limit=2&offset=10&sort=created_at:desc");
}
