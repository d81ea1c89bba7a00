#include "web/basic_auth.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "support/bcrypt.h"
#include "support/raw_client.h"

namespace {

using ief::AuthDecision;
using ief::testing::BasicAuthorization;

// The fastest of `runs` checks, in seconds: the minimum is what the work costs, whatever else the machine does.
double FastestCheck(ief::BasicAuthVerifier& verifier, const std::string& authorization, int runs = 5) {
  double fastest = 1e9;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    CHECK(verifier.Check(authorization) == AuthDecision::kRefused);
    fastest = std::min(fastest, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return fastest;
}

}  // namespace

TEST_CASE("basic auth accepts the right password and nothing else") {
  ief::BasicAuthVerifier verifier({{"alice", ief::testing::BcryptHash("correct horse")}});
  CHECK(verifier.Check(BasicAuthorization("alice:correct horse")) == AuthDecision::kAllowed);
  CHECK(verifier.Check(BasicAuthorization("alice:correct horse")) == AuthDecision::kAllowed);  // now remembered
  CHECK(verifier.Check(BasicAuthorization("alice:correct horsE")) == AuthDecision::kRefused);
  CHECK(verifier.Check(BasicAuthorization("alice:")) == AuthDecision::kRefused);
  CHECK(verifier.Check(BasicAuthorization("mallory:correct horse")) == AuthDecision::kRefused);
  CHECK(verifier.Check(BasicAuthorization("alicecorrect horse")) == AuthDecision::kRefused);
  CHECK(verifier.Check("") == AuthDecision::kRefused);
  CHECK(verifier.Check("Bearer abc") == AuthDecision::kRefused);
  CHECK(verifier.Check("Basic !!!") == AuthDecision::kRefused);
}

TEST_CASE("passwords may contain colons") {
  ief::BasicAuthVerifier verifier({{"bob", ief::testing::BcryptHash("a:b:c")}});
  CHECK(verifier.Check(BasicAuthorization("bob:a:b:c")) == AuthDecision::kAllowed);
}

TEST_CASE("the dummy hash for unknown users is as expensive as the dearest configured hash") {
  ief::BasicAuthVerifier verifier(
      {{"cheap", ief::testing::BcryptHash("x", 4)}, {"dear", ief::testing::BcryptHash("y", 7)}});
  CHECK(verifier.dummy_hash().size() == 60);
  CHECK(verifier.dummy_hash().starts_with("$2b$07$"));
  CHECK(ief::BcryptMatches("no user has this password", verifier.dummy_hash()));  // a real hash, so a full check
  CHECK(ief::MakeDummyBcryptHash({}).starts_with("$2b$10$"));
  // Whatever its password, an unknown user is refused, even one that would match the dummy hash.
  CHECK(verifier.Check(BasicAuthorization("nobody:no user has this password")) == AuthDecision::kRefused);
}

TEST_CASE("an unknown user costs what a known user with a wrong password costs") {
  ief::BasicAuthVerifier verifier({{"alice", ief::testing::BcryptHash("right", 8)}});
  double known = FastestCheck(verifier, BasicAuthorization("alice:wrong"));
  double unknown = FastestCheck(verifier, BasicAuthorization("mallory:wrong"));
  INFO("known user, wrong password: " << known << " s; unknown user: " << unknown << " s");
  CHECK(known > 0.002);  // cost 8 is a real bcrypt run, not a short cut
  CHECK(unknown > known * 0.7);
  CHECK(unknown < known * 1.4);
}

TEST_CASE("failed checks beyond the cap are answered busy at once, remembered pairs still pass") {
  // Cost 10 keeps the one check slot busy for tens of milliseconds per wrong password.
  ief::BasicAuthVerifier verifier({{"alice", ief::testing::BcryptHash("right", 10)}}, /*max_concurrent_checks=*/1);
  REQUIRE(verifier.Check(BasicAuthorization("alice:right")) == AuthDecision::kAllowed);  // now remembered

  std::atomic<bool> stop{false};
  std::thread guesser([&] {
    while (!stop) (void)verifier.Check(BasicAuthorization("alice:guess"));
  });
  bool busy_seen = false;
  double slowest_busy = 0, slowest_remembered = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!busy_seen && std::chrono::steady_clock::now() < deadline) {
    auto start = std::chrono::steady_clock::now();
    AuthDecision decision = verifier.Check(BasicAuthorization("mallory:guess"));
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (decision == AuthDecision::kBusy) {
      busy_seen = true;
      slowest_busy = took;
    }
  }
  for (int i = 0; i < 20; ++i) {
    auto start = std::chrono::steady_clock::now();
    CHECK(verifier.Check(BasicAuthorization("alice:right")) == AuthDecision::kAllowed);
    slowest_remembered = std::max(
        slowest_remembered, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  stop = true;
  guesser.join();
  CHECK(busy_seen);
  CHECK(slowest_busy < 0.03);        // no bcrypt run (80 ms at cost 10), no wait
  CHECK(slowest_remembered < 0.03);  // the cap never stands in a remembered pair's way
  // Once the slot is free again, a check runs normally.
  CHECK(verifier.Check(BasicAuthorization("alice:guess")) == AuthDecision::kRefused);
}

TEST_CASE("ParseBasicAuthorization splits at the first colon") {
  auto credentials = ief::ParseBasicAuthorization(BasicAuthorization("bob:a:b"));
  REQUIRE(credentials.has_value());
  CHECK(credentials->user == "bob");
  CHECK(credentials->password == "a:b");
  CHECK_FALSE(ief::ParseBasicAuthorization("basic " + BasicAuthorization("bob:a").substr(6)).has_value());
}

TEST_CASE("DecodeBase64") {
  CHECK(ief::DecodeBase64("YWxpY2U6cHc=") == std::optional<std::string>("alice:pw"));
  CHECK(ief::DecodeBase64("") == std::optional<std::string>(""));
  CHECK_FALSE(ief::DecodeBase64("a*b").has_value());
}
