#include "config/web_config.h"

#include <catch2/catch.hpp>

#include "support/bcrypt.h"

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
