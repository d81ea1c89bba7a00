#include "upstream/auth/auth.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <map>

#include "support/fixtures.h"
#include "support/manual_clock.h"

namespace {

std::string TokenSent(ief::RequestAuthenticator& auth) {
  ief::HttpRequest request;
  ief::Status status = auth.Authenticate(request);
  if (!status.ok()) {
    CHECK(status.error().kind == ief::ErrorKind::kAuthUnavailable);
    return "error: " + status.error().message;
  }
  REQUIRE(request.headers.size() == 1);
  CHECK(request.headers[0].first == "X-Auth-Token");
  return request.headers[0].second;
}

ief::TokenAuthenticator FileToken(const std::string& path) {
  return ief::TokenAuthenticator(std::make_shared<ief::SecretSource>("token_file", "", path));
}

}  // namespace

TEST_CASE("a static token is sent as X-Auth-Token") {
  ief::TokenAuthenticator auth(std::make_shared<ief::SecretSource>("token", "MIIB-static", ""));
  CHECK(TokenSent(auth) == "MIIB-static");
  ief::HttpRequest rejected;
  rejected.headers = {{"X-Auth-Token", "MIIB-static"}};
  CHECK_FALSE(auth.RenewAfterRejection(rejected));
}

TEST_CASE("a token file is trimmed and re-read when it changes") {
  ief::testing::TempFile file("first-token\n");
  auto auth = FileToken(file.path());
  CHECK(TokenSent(auth) == "first-token");
  // Same length, so only the modification time (nanoseconds) tells the versions apart.
  file.Write("other-token\r\n");
  ief::HttpRequest rejected;
  rejected.headers = {{"X-Auth-Token", "first-token"}};
  CHECK(auth.RenewAfterRejection(rejected));  // the file holds a different token now: worth one retry
  CHECK(TokenSent(auth) == "other-token");
  file.Write("third\n");
  CHECK(TokenSent(auth) == "third");
}

TEST_CASE("token file problems are errors that never show the content") {
  ief::testing::TempFile file("  \n");
  auto empty = FileToken(file.path());
  CHECK(TokenSent(empty) == "error: token_file " + file.path() + " is empty");

  file.Write("secret\nwith-newline-inside");
  auto bad = FileToken(file.path());
  std::string error = TokenSent(bad);
  CHECK_THAT(error, Catch::Contains("not allowed in a header"));
  CHECK_THAT(error, !Catch::Contains("secret"));

  auto missing = FileToken("/nonexistent/token");
  CHECK(TokenSent(missing) == "error: token_file: cannot read /nonexistent/token: No such file or directory");

  file.Write(std::string(100 * 1024, 'x'));
  auto huge = FileToken(file.path());
  CHECK(TokenSent(huge) == "error: token_file: cannot read " + file.path() + ": larger than 65536 bytes");
}

TEST_CASE("a token file swapped for a pipe nobody writes to fails at once, and a regular file works again") {
  ief::testing::TempFile file("first-token\n");
  auto auth = FileToken(file.path());
  CHECK(TokenSent(auth) == "first-token");
  ief::testing::TempFifo fifo;
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(std::rename(fifo.path().c_str(), file.path().c_str()) == 0);  // what a careless operator might do
  CHECK(TokenSent(auth) == "error: token_file: cannot read " + file.path() + ": not a regular file (a named pipe)");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
  std::remove(file.path().c_str());  // (writing to the pipe would block this test: it has no reader)
  file.Write("second-token\n");
  CHECK(TokenSent(auth) == "second-token");
}

TEST_CASE("AK/SK requests carry the project, the date and the signature") {
  ief::testing::TempFile secret("MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc\n");
  ief::AkskAuthConfig config;
  config.access_key = "QTWAOYTTINDUT2QVKYUC";
  config.secret_key_file = secret.path();
  config.security_token = "temporary";
  ief::testing::ManualClock clock(1573789015);
  ief::AkskAuthenticator auth(config, "p1", clock);
  ief::HttpRequest request;
  request.url = "https://ief.example.com/v2/p1/productmgr/jobs/j";
  request.headers = {{"Content-Type", "application/json"}};
  REQUIRE(auth.Authenticate(request).ok());
  std::map<std::string, std::string> headers(request.headers.begin(), request.headers.end());
  CHECK(headers["X-Project-Id"] == "p1");
  CHECK(headers["X-Security-Token"] == "temporary");
  CHECK(headers["X-Sdk-Date"] == "20191115T033655Z");
  CHECK(headers["Host"] == "ief.example.com");
  CHECK_THAT(headers["Authorization"],
             Catch::StartsWith("SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, "
                               "SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token, Signature="));
  CHECK_THAT(headers["Authorization"], !Catch::Contains("MFyfvK41"));
}

TEST_CASE("MakeAuthenticator picks the form") {
  ief::ProjectConfig project;
  project.project_id = "p";
  project.auth.kind = ief::AuthConfig::Kind::kToken;
  project.auth.token = "t";
  CHECK(TokenSent(*ief::MakeAuthenticator(project, {})) == "t");
}
