#include "ief/auth.h"

#include <catch2/catch.hpp>

#include "support/fixtures.h"

namespace {

std::string TokenSent(ief::RequestAuthenticator& auth) {
  ief::HttpRequest request;
  ief::Status status = auth.Authenticate(request);
  if (!status.ok()) return "error: " + status.error();
  REQUIRE(request.headers.size() == 1);
  CHECK(request.headers[0].first == "X-Auth-Token");
  return request.headers[0].second;
}

}  // namespace

TEST_CASE("a static token is sent as X-Auth-Token") {
  ief::StaticTokenAuthenticator auth("MIIB-static");
  CHECK(TokenSent(auth) == "MIIB-static");
}

TEST_CASE("a token file is trimmed and re-read when it changes") {
  ief::testing::TempFile file("first-token\n");
  ief::TokenFileAuthenticator auth(file.path());
  CHECK(TokenSent(auth) == "first-token");
  // Same length, so only the modification time (nanoseconds) tells the versions apart.
  file.Write("other-token\r\n");
  CHECK(TokenSent(auth) == "other-token");
  file.Write("third\n");
  CHECK(TokenSent(auth) == "third");
}

TEST_CASE("token file problems are errors that never show the content") {
  ief::testing::TempFile file("  \n");
  ief::TokenFileAuthenticator empty(file.path());
  CHECK(TokenSent(empty) == "error: token_file " + file.path() + " is empty");

  file.Write("secret\nwith-newline-inside");
  ief::TokenFileAuthenticator bad(file.path());
  std::string error = TokenSent(bad);
  CHECK_THAT(error, Catch::Contains("not allowed in a header"));
  CHECK_THAT(error, !Catch::Contains("secret"));

  ief::TokenFileAuthenticator missing("/nonexistent/token");
  CHECK(TokenSent(missing) == "error: cannot read token_file /nonexistent/token");
}

TEST_CASE("MakeAuthenticator picks the form") {
  ief::AuthConfig config;
  config.kind = ief::AuthConfig::Kind::kToken;
  config.token = "t";
  CHECK(TokenSent(*ief::MakeAuthenticator(config)) == "t");
  config.kind = ief::AuthConfig::Kind::kIam;
  CHECK_THAT(TokenSent(*ief::MakeAuthenticator(config)), Catch::Contains("not supported"));
}
