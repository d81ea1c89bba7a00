#include "upstream/upstream_state.h"

#include <catch2/catch.hpp>

namespace {

ief::Config TwoProjects(double rate_limit, const std::string& second_token) {
  ief::Config config;
  config.global.rate_limit = rate_limit;
  for (const auto& [id, token] : {std::pair<std::string, std::string>{"p1", "token-one"}, {"p2", second_token}}) {
    ief::ProjectConfig project;
    project.project_id = id;
    project.endpoint = "https://ief.example.com";
    project.auth.kind = ief::AuthConfig::Kind::kToken;
    project.auth.token = token;
    config.projects.push_back(project);
  }
  return config;
}

}  // namespace

TEST_CASE("a reload keeps authenticators whose settings did not change and the endpoint's rate limiter") {
  ief::UpstreamState state(nullptr);
  auto before = state.ProjectsFor(TwoProjects(20, "token-two"));
  REQUIRE(before.size() == 2);
  CHECK(before[0]->rate_limiter == before[1]->rate_limiter);  // one endpoint, one budget
  CHECK(before[0]->authenticator != before[1]->authenticator);

  auto after = state.ProjectsFor(TwoProjects(10, "token-two-rotated"));
  CHECK(after[0]->authenticator == before[0]->authenticator);  // unchanged: the same object, token and back-off
  CHECK(after[1]->authenticator != before[1]->authenticator);  // changed credentials: a new one
  CHECK(after[0]->rate_limiter == before[0]->rate_limiter);
  CHECK(after[0]->rate_limiter->Stats().ceiling == 10);

  auto stats = state.RateLimits();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].first == "https://ief.example.com");
}

TEST_CASE("the authenticator key covers every credential field but shows none of them") {
  ief::ProjectConfig project;
  project.project_id = "p";
  project.auth.kind = ief::AuthConfig::Kind::kIam;
  project.auth.iam.password = "secret-password";
  const std::string key = ief::AuthenticatorKey(project);
  CHECK(key.find("secret-password") == std::string::npos);
  ief::ProjectConfig other = project;
  other.auth.iam.password = "other-password";
  CHECK(ief::AuthenticatorKey(other) != key);
  other = project;
  other.auth.iam.user = "someone-else";
  CHECK(ief::AuthenticatorKey(other) != key);
  CHECK(ief::AuthenticatorKey(project) == key);
}
