#include "config/web_config.h"

#include <optional>

#include <catch2/catch.hpp>

#include "support/bcrypt.h"
#include "util/large_stack.h"

TEST_CASE("basic_auth_users are read") {
  std::string hash = ief::testing::BcryptHash("pw");
  auto config = ief::ParseWebConfig("basic_auth_users:\n  alice: " + hash + "\n  bob: '" + hash + "'\n", "web.yml");
  REQUIRE(config.ok());
  CHECK(config->basic_auth_users.size() == 2);
  CHECK(config->basic_auth_users.at("alice") == hash);
}

TEST_CASE("web config mistakes are reported with positions") {
  auto tls = ief::ParseWebConfig("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n", "web.yml");
  REQUIRE_FALSE(tls.ok());
  CHECK_THAT(tls.error().message, Catch::StartsWith("web.yml:1:1: tls_server_config is not supported"));
  CHECK_THAT(tls.error().message, Catch::Contains("Terminate TLS in front"));

  auto plain = ief::ParseWebConfig("basic_auth_users:\n  alice: hunter2\n", "web.yml");
  REQUIRE_FALSE(plain.ok());
  CHECK_THAT(plain.error().message, Catch::StartsWith("web.yml:2:10: the password of \"alice\" must be a bcrypt hash"));
  CHECK_THAT(plain.error().message, !Catch::Contains("hunter2"));

  auto unknown = ief::ParseWebConfig("basic_auth_user:\n  alice: x\n", "web.yml");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message, Catch::StartsWith("web.yml:1:1: unknown key \"basic_auth_user\""));

  CHECK_FALSE(ief::LoadWebConfigFile("/nonexistent/web.yml").ok());
}

TEST_CASE("a deeply nested web config is refused with its position, even from a small stack") {
  for (int levels : {200, 10000}) {
    std::string yaml = "basic_auth_users: " + std::string(levels, '[') + std::string(levels, ']') + "\n";
    std::optional<ief::Result<ief::WebConfig>> parsed;
    REQUIRE(ief::RunWithStack(100 * 1024, [&] { parsed.emplace(ief::ParseWebConfig(yaml, "web.yml")); }).ok());
    REQUIRE_FALSE(parsed->ok());
    CHECK_THAT(parsed->error().message, Catch::StartsWith("web.yml:1:"));
  }
}
