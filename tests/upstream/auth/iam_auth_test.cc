#include "upstream/auth/iam_auth.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <limits>
#include <optional>
#include <thread>

#include "support/fixtures.h"
#include "support/manual_clock.h"
#include "util/time.h"

namespace {

// A scripted IAM: issues iam-1, iam-2... with the given lifetime, or rejects the password.
class FakeIam : public ief::HttpTransport {
 public:
  const ief::Clock& clock;
  double lifetime = 1000;
  std::optional<double> stated_expiry_in;  // state expires_at this far from now, and no issued_at
  bool reject = false;
  long fail_status = 0;  // answer this status instead (a broken IAM, not a wrong password)
  int delay_ms = 0;
  std::atomic<int> calls{0};
  ief::HttpRequest last;

  explicit FakeIam(const ief::Clock& clock) : clock(clock) {}
  ief::Result<ief::HttpResponse> Send(const ief::HttpRequest& request) override {
    int n = ++calls;
    last = request;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ief::HttpResponse response;
    if (fail_status != 0) {
      response.status = fail_status;
      return response;
    }
    if (reject) {
      response.status = 401;
      response.body = R"({"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}})";
      return response;
    }
    response.status = 201;
    response.subject_token = "iam-" + std::to_string(n);
    ief::WallTime now = clock.Wall();
    if (stated_expiry_in) {
      response.body = "{\"token\":{\"expires_at\":\"" +
                      ief::FormatIso8601Utc(now + std::chrono::seconds(static_cast<long>(*stated_expiry_in))) + "\"}}";
      return response;
    }
    response.body = "{\"token\":{\"expires_at\":\"" +
                    ief::FormatIso8601Utc(now + std::chrono::seconds(static_cast<long>(lifetime))) +
                    "\",\"issued_at\":\"" + ief::FormatIso8601Utc(now) + "\",\"methods\":[\"password\"]}}";
    return response;
  }
};

struct Observer : ief::ApiObserver {
  std::vector<std::string> requests;
  double expiry = 0;
  std::optional<double> skew;
  void OnTokenClockSkew(const std::string&, double seconds) override { skew = seconds; }
  void OnRequest(const std::string&, ief::ApiOperation op, const std::string& code, double) override {
    requests.push_back(std::string(ief::OperationName(op)) + "/" + code);
  }
  void OnParseError(const std::string&, ief::ApiOperation) override {}
  void OnTokenExpiry(const std::string&, ief::WallTime expires_at) override { expiry = ief::UnixSeconds(expires_at); }
};

struct Fixture {
  ief::testing::ManualClock clock{1700000000};
  FakeIam* iam;
  Observer observer;
  std::unique_ptr<ief::IamTokenAuthenticator> auth;

  explicit Fixture(ief::IamAuthConfig config = Config()) {
    auto transport = std::make_unique<FakeIam>(clock);
    iam = transport.get();
    auth = std::make_unique<ief::IamTokenAuthenticator>(config, "proj-id", std::move(transport), &observer, clock);
  }
  static ief::IamAuthConfig Config() {
    ief::IamAuthConfig config;
    config.endpoint = "https://iam.example.com";
    config.domain = "dom";
    config.user = "alice";
    config.password = "pa\"ss";
    return config;
  }
  void Advance(int seconds) { clock.Advance(std::chrono::seconds(seconds)); }
  double now() const { return clock.unix_seconds(); }
  std::string Token() {
    ief::HttpRequest request;
    ief::Status status = auth->Authenticate(request);
    if (!status.ok()) {
      CHECK(status.error().kind == ief::ErrorKind::kAuthUnavailable);
      return "error: " + status.error().message;
    }
    return request.headers.back().second;
  }
};

}  // namespace

TEST_CASE("the first request obtains a project-scoped token from IAM") {
  Fixture f;
  CHECK(f.Token() == "iam-1");
  CHECK(f.iam->last.method == ief::HttpMethod::kPost);
  CHECK(f.iam->last.url == "https://iam.example.com/v3/auth/tokens?nocatalog=true");
  CHECK(f.iam->last.body ==
        R"({"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","password":"pa\"ss",)"
        R"("domain":{"name":"dom"}}}},"scope":{"project":{"id":"proj-id"}}}})");
  CHECK(f.observer.requests == std::vector<std::string>{"iam_token/201"});
  CHECK(f.observer.expiry == Approx(f.now() + 1000));
  CHECK(f.observer.skew == 0);
}

TEST_CASE("a project name scopes the token by name") {
  ief::IamAuthConfig config = Fixture::Config();
  config.project_name = "cn-north-4";
  CHECK_THAT(ief::IamPasswordRequestBody(config, "pw", "id"), Catch::EndsWith(R"("scope":{"project":{"name":"cn-north-4"}}}})"));
}

TEST_CASE("the token is renewed after three quarters of its life, not before") {
  Fixture f;
  CHECK(f.Token() == "iam-1");
  f.Advance(749);
  CHECK(f.Token() == "iam-1");
  CHECK(f.iam->calls == 1);
  f.Advance(2);  // 751 s into a 1000 s life
  CHECK(f.Token() == "iam-2");
  CHECK(f.iam->calls == 2);
}

TEST_CASE("a rejected password backs off for minutes, growing, and is never hammered") {
  Fixture f;
  f.iam->reject = true;
  CHECK_THAT(f.Token(), Catch::Contains("HTTP 401: The username or password is wrong."));
  CHECK(f.iam->calls == 1);
  for (int i = 0; i < 10; ++i) {
    f.Advance(5);
    CHECK_THAT(f.Token(), Catch::Contains("next attempt in"));
  }
  CHECK(f.iam->calls == 1);
  f.Advance(11);  // 61 s after the first try
  f.Token();
  CHECK(f.iam->calls == 2);
  f.Advance(61);  // the second back-off step is 120 s
  f.Token();
  CHECK(f.iam->calls == 2);
  f.Advance(60);
  f.iam->reject = false;
  CHECK(f.Token() == "iam-3");
  CHECK(f.observer.requests == std::vector<std::string>{"iam_token/401", "iam_token/401", "iam_token/201"});
}

TEST_CASE("a failing IAM is retried after seconds - only a refusal of the credentials backs off for minutes") {
  Fixture f;
  f.iam->fail_status = 503;
  CHECK_THAT(f.Token(), Catch::Contains("HTTP 503"));
  f.Advance(6);  // the transient back-off starts at 5 s
  f.Token();
  CHECK(f.iam->calls == 2);
  f.iam->fail_status = 0;
  f.iam->reject = true;
  f.Advance(11);  // the second transient step is 10 s
  f.Token();
  CHECK(f.iam->calls == 3);
  f.Advance(30);  // a refusal waits a minute, whatever came before
  f.Token();
  CHECK(f.iam->calls == 3);
}

TEST_CASE("a changed password file ends the back-off at once") {
  ief::testing::TempFile password("wrong\n");
  ief::IamAuthConfig config = Fixture::Config();
  config.password.clear();
  config.password_file = password.path();
  Fixture f(config);
  f.iam->reject = true;
  f.Token();
  f.Advance(1);
  f.Token();
  CHECK(f.iam->calls == 1);
  password.Write("right-now\n");
  f.iam->reject = false;
  CHECK(f.Token() == "iam-2");
  CHECK_THAT(f.iam->last.body, Catch::Contains("\"password\":\"right-now\""));
}

TEST_CASE("IEF rejecting a token renews it once, but a brand-new token is not renewed again") {
  Fixture f;
  std::string first = f.Token();
  f.Advance(61);
  ief::HttpRequest rejected;
  rejected.headers = {{"X-Auth-Token", first}};
  CHECK(f.auth->RenewAfterRejection(rejected));
  CHECK(f.Token() == "iam-2");
  rejected.headers = {{"X-Auth-Token", "iam-2"}};
  f.Advance(59);
  CHECK_FALSE(f.auth->RenewAfterRejection(rejected));  // under a minute old: renewing again would not help
  rejected.headers = {{"X-Auth-Token", first}};
  CHECK(f.auth->RenewAfterRejection(rejected));  // stale rejection: the current token is already new
  CHECK(f.iam->calls == 2);
}

TEST_CASE("a token whose expiry is already past costs a login every 7.5 minutes, and its skew is exported") {
  Fixture f;
  f.iam->stated_expiry_in = -3600;  // an IAM clock an hour behind, or a careless one
  for (int second = 0; second < 600; second += 2) {  // a poll round every 2 s for 10 minutes
    CHECK_THAT(f.Token(), Catch::StartsWith("iam-"));
    f.Advance(2);
  }
  CHECK(f.iam->calls == 2);  // at 0 and 450 s: three quarters of the 10 minutes such a token counts for
  CHECK(f.observer.skew == Approx(-3600));
}

TEST_CASE("tokens that state a second of life cost at most 8 logins a minute") {
  Fixture f;
  f.iam->lifetime = 1;
  for (int tenth = 0; tenth < 600; ++tenth) {  // a request every 100 ms for a minute
    CHECK_THAT(f.Token(), Catch::StartsWith("iam-"));
    f.clock.Advance(std::chrono::milliseconds(100));
  }
  CHECK(f.iam->calls == 8);  // every 7.5 s: three quarters of the 10 s a token is used at least
}

TEST_CASE("IEF rejecting every token costs at most one login a minute") {
  Fixture f;
  for (int second = 0; second < 600; second += 2) {
    ief::HttpRequest rejected;
    rejected.headers = {{"X-Auth-Token", f.Token()}};
    if (f.auth->RenewAfterRejection(rejected)) f.Token();
    f.Advance(2);
  }
  CHECK(f.iam->calls <= 10);
  CHECK(f.iam->calls >= 9);  // a rejected token that is over a minute old is still renewed at once
}

TEST_CASE("token times: the lifetime comes from IAM's own two times, bounded, and the skew from issued_at") {
  const ief::WallTime now = ief::FromUnixSeconds(1700000000);
  auto token = [&](double expires_in, std::optional<double> issued_in) {
    ief::IamToken t;
    t.expires_at = now + std::chrono::seconds(static_cast<long>(expires_in));
    if (issued_in) t.issued_at = now + std::chrono::seconds(static_cast<long>(*issued_in));
    return ief::ReadTokenTimes(t, now);
  };
  using std::chrono::hours, std::chrono::seconds;
  ief::IamTokenTimes normal = token(86400, 0);
  CHECK(normal.lifetime == hours(24));
  CHECK(normal.clock_skew == seconds(0));
  CHECK_FALSE(normal.doubtful);
  ief::IamTokenTimes behind = token(-3600, -90000);  // IAM's clock 25 h behind: the lifetime still holds
  CHECK(behind.lifetime == hours(24));
  CHECK(behind.clock_skew == seconds(-90000));
  CHECK(behind.doubtful);
  ief::IamTokenTimes backwards = token(-3600, 0);  // expires before it was issued
  CHECK(backwards.stated_lifetime == seconds(-3600));
  CHECK(backwards.lifetime == std::chrono::minutes(10));
  CHECK(backwards.clock_skew == seconds(0));
  CHECK(backwards.doubtful);
  ief::IamTokenTimes no_issued = token(-3600, std::nullopt);
  CHECK(no_issued.lifetime == std::chrono::minutes(10));
  CHECK(no_issued.clock_skew == seconds(-3600));
  CHECK(token(86400, std::nullopt).clock_skew == seconds(0));  // nothing to compare with
  CHECK(token(1, 0).lifetime == seconds(10));
  CHECK(token(5, std::nullopt).lifetime == seconds(10));
  CHECK(token(365 * 86400, 0).lifetime == hours(7 * 24));
}

TEST_CASE("concurrent requests share one IAM round trip") {
  Fixture f;
  f.iam->delay_ms = 100;
  std::vector<std::thread> threads;
  std::vector<std::string> tokens(8);
  for (int i = 0; i < 8; ++i) threads.emplace_back([&, i] { tokens[i] = f.Token(); });
  for (auto& t : threads) t.join();
  CHECK(f.iam->calls == 1);
  for (const auto& token : tokens) CHECK(token == "iam-1");
}

TEST_CASE("ISO 8601 times as IAM writes them") {
  CHECK(ief::FormatIso8601Utc(ief::FromUnixSeconds(1578128722)) == "2020-01-04T09:05:22.000000Z");
  CHECK(ief::UnixSeconds(ief::ParseIso8601Utc("2020-01-04T09:05:22.701000Z").value()) == Approx(1578128722.701));
  CHECK(ief::UnixSeconds(ief::ParseIso8601Utc("1970-01-01T00:00:00Z").value()) == 0.0);
  CHECK_FALSE(ief::ParseIso8601Utc("2020-01-04 09:05:22").has_value());
  CHECK_FALSE(ief::ParseIso8601Utc("2020-01-04T09:05:22+08:00").has_value());
  CHECK_FALSE(ief::ParseIso8601Utc("").has_value());
}

TEST_CASE("times from the network far outside the clock's range are clamped, never undefined") {
  CHECK(ief::UnixSeconds(ief::FromUnixSeconds(1e300)) == 4e9);
  CHECK(ief::UnixSeconds(ief::FromUnixSeconds(-1e300)) == -4e9);
  CHECK(ief::UnixSeconds(ief::FromUnixSeconds(std::nan(""))) == 0.0);
  CHECK(ief::UnixSeconds(ief::FromUnixSeconds(1.7e12)) == 4e9);  // milliseconds read as seconds
  CHECK(ief::UnixSeconds(ief::ParseIso8601Utc("9999-12-31T23:59:59Z").value()) == 4e9);
  // The API's whole-second timestamps take the same path.
  CHECK(ief::UnixSeconds(ief::FromApiSeconds(1578128722)) == 1578128722.0);
  CHECK(ief::UnixSeconds(ief::FromApiSeconds(std::numeric_limits<int64_t>::max())) == 4e9);
  CHECK(ief::UnixSeconds(ief::FromApiSeconds(std::numeric_limits<int64_t>::min())) == -4e9);
}
