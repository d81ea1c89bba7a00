#include "config/web_config.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <optional>
#include <vector>

#include <catch2/catch.hpp>

#include "support/bcrypt.h"
#include "support/fixtures.h"
#include "util/large_stack.h"

TEST_CASE("basic_auth_users are read") {
  std::string hash = ief::testing::BcryptHash("pw");
  auto config = ief::ParseWebConfig("basic_auth_users:\n  alice: " + hash + "\n  bob: '" + hash + "'\n", "web.yml");
  REQUIRE(config.ok());
  CHECK(config->basic_auth_users.size() == 2);
  CHECK(config->basic_auth_users.at("alice") == hash);
}

TEST_CASE("web config mistakes are reported with positions") {
  auto plain = ief::ParseWebConfig("basic_auth_users:\n  alice: hunter2\n", "web.yml");
  REQUIRE_FALSE(plain.ok());
  CHECK_THAT(plain.error().message, Catch::StartsWith("web.yml:2:10: the password of \"alice\" must be a bcrypt hash"));
  CHECK_THAT(plain.error().message, !Catch::Contains("hunter2"));

  auto unknown = ief::ParseWebConfig("basic_auth_user:\n  alice: x\n", "web.yml");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message, Catch::StartsWith("web.yml:1:1: unknown key \"basic_auth_user\""));

  CHECK_FALSE(ief::LoadWebConfigFile("/nonexistent/web.yml").ok());
}

namespace {

using ief::testing::TempFile;

// Two readable files standing in for a certificate and a key (the loader only checks they can be read).
struct PemFiles {
  TempFile cert{"cert", ".pem"};
  TempFile key{"key", ".key"};
  TempFile ca{"ca", ".pem"};
  std::string Tls(const std::string& more = "") const {
    return "tls_server_config:\n  cert_file: " + cert.path() + "\n  key_file: " + key.path() + "\n" + more;
  }
};

std::string ErrorOf(const std::string& yaml) {
  auto config = ief::ParseWebConfig(yaml, "web.yml");
  return config.ok() ? "(accepted)" : config.error().message;
}

}  // namespace

TEST_CASE("every exporter-toolkit key is read, with its meaning") {
  PemFiles files;
  std::string hash = ief::testing::BcryptHash("pw");
  auto config = ief::ParseWebConfig(
      files.Tls("  client_auth_type: RequireAndVerifyClientCert\n"
                "  client_ca_file: " + files.ca.path() + "\n"
                "  client_allowed_sans: [prometheus.example, 10.0.0.1]\n"
                "  min_version: TLS13\n"
                "  max_version: TLS13\n"
                "  cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n"
                "  curve_preferences: [X25519, CurveP384]\n"
                "  prefer_server_cipher_suites: false\n") +
          "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n"
          "    Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: ''\n"
          "rate_limit:\n  interval: 1s\n  burst: 5\n"
          "basic_auth_users:\n  alice: " + hash + "\n",
      "web.yml");
  REQUIRE(config.ok());
  REQUIRE(config->tls.has_value());
  const ief::TlsServerConfig& tls = *config->tls;
  CHECK(tls.cert.file == files.cert.path());
  CHECK(tls.cert.position == "web.yml:2:3");
  CHECK(tls.key.file == files.key.path());
  CHECK(tls.client_ca.file == files.ca.path());
  CHECK(tls.client_auth == ief::ClientAuthType::kRequireAndVerifyClientCert);
  CHECK(tls.client_allowed_sans == std::vector<std::string>{"prometheus.example", "10.0.0.1"});
  CHECK(tls.min_version == ief::TlsVersion::kTls13);
  CHECK(tls.max_version == ief::TlsVersion::kTls13);
  CHECK(tls.cipher_suites == std::vector<std::string>{"TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"});
  CHECK(tls.curve_preferences == std::vector<ief::TlsCurve>{ief::TlsCurve::kX25519, ief::TlsCurve::kP384});
  CHECK_FALSE(tls.prefer_server_cipher_suites);
  CHECK_FALSE(config->http.http2);
  // Blank means unset, as in exporter-toolkit.
  CHECK(config->http.headers == std::vector<std::pair<std::string, std::string>>{
                                    {"X-Frame-Options", "deny"}, {"Strict-Transport-Security", "max-age=31536000"}});
  CHECK(config->rate_limit.interval == std::chrono::seconds(1));
  CHECK(config->rate_limit.burst == 5);
  CHECK(config->basic_auth_users.at("alice") == hash);
}

TEST_CASE("the defaults are exporter-toolkit's: TLS 1.2 to 1.3, server preference, HTTP/2 on, no client certificate") {
  PemFiles files;
  auto config = ief::ParseWebConfig(files.Tls(), "web.yml");
  REQUIRE(config.ok());
  REQUIRE(config->tls.has_value());
  CHECK(config->tls->client_auth == ief::ClientAuthType::kNoClientCert);
  CHECK_FALSE(config->tls->client_allowed_sans.has_value());
  CHECK(config->tls->min_version == ief::TlsVersion::kTls12);
  CHECK(config->tls->max_version == ief::TlsVersion::kTls13);
  CHECK(config->tls->cipher_suites.empty());
  CHECK(config->tls->prefer_server_cipher_suites);
  CHECK(config->http.http2);
  CHECK_FALSE(ief::ParseWebConfig("basic_auth_users: {}\n", "web.yml")->tls.has_value());  // plain HTTP
}

TEST_CASE("certificates may be given inline, and relative paths are the web config's neighbours") {
  PemFiles files;
  std::string relative = files.cert.path().substr(files.cert.path().rfind('/') + 1);
  auto config = ief::ParseWebConfig("tls_server_config:\n  cert_file: " + relative +
                                        "\n  key: |\n    -----BEGIN PRIVATE KEY-----\n    abc\n"
                                        "    -----END PRIVATE KEY-----\n",
                                    "/tmp/web.yml");
  REQUIRE(config.ok());
  CHECK(config->tls->cert.file == files.cert.path());  // /tmp/ + the name
  CHECK(config->tls->key.file.empty());
  CHECK(config->tls->key.inline_pem == "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n");
  CHECK(config->tls->key.position == "/tmp/web.yml:3:3");
  // Relative to the web config, not to the working directory.
  CHECK_THAT(ErrorOf("tls_server_config:\n  cert_file: " + relative + "\n  key_file: " + relative + "\n"),
             Catch::Contains("cannot read " + relative + ": "));
}

TEST_CASE("exporter-toolkit's old and blank client_auth_type spellings are understood") {
  PemFiles files;
  CHECK(ief::ParseWebConfig(files.Tls("  client_auth_type: RequireClientCert\n"), "web.yml")->tls->client_auth ==
        ief::ClientAuthType::kRequireAnyClientCert);
  CHECK(ief::ParseWebConfig(files.Tls("  client_auth_type: ''\n"), "web.yml")->tls->client_auth ==
        ief::ClientAuthType::kNoClientCert);
}

TEST_CASE("TLS settings that are wrong, unknown or contradict each other are refused with their position") {
  PemFiles files;
  const std::string ca = "  client_ca_file: " + files.ca.path() + "\n";
  struct Case {
    std::string yaml;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"tls_server_config:\n", "web.yml:1:1: tls_server_config has no value"},
           {"tls_server_config: [a]\n", "web.yml:1:20: tls_server_config must be a mapping"},
           {"tls_server_config:\n  cert_file: " + files.cert.path() + "\n", "web.yml:2:3: missing key or key_file"},
           {"tls_server_config:\n  key_file: " + files.key.path() + "\n", "web.yml:2:3: missing cert or cert_file"},
           {"tls_server_config:\n  min_version: TLS13\n", "missing cert or cert_file"},
           {files.Tls("  cert: x\n"), "web.yml:2:14: give either cert or cert_file, not both"},
           {files.Tls("  certfile: x\n"), "web.yml:4:3: unknown key \"certfile\" in tls_server_config"},
           {files.Tls("  client_auth_type: VerifyClientCert\n"),
            "web.yml:4:21: unknown client_auth_type \"VerifyClientCert\" (allowed: NoClientCert, RequestClientCert"},
           {files.Tls("  min_version: TLS11\n"),
            "web.yml:4:16: min_version TLS11 is not supported: OpenSSL 3 negotiates TLS 1.2 and 1.3 only"},
           {files.Tls("  max_version: TLS10\n"), "web.yml:4:16: max_version TLS10 is not supported"},
           {files.Tls("  min_version: TLS1.2\n"), "web.yml:4:16: unknown TLS version \"TLS1.2\""},
           {files.Tls("  min_version: TLS13\n  max_version: TLS12\n"), "web.yml:4:3: min_version is above max_version"},
           {files.Tls("  cipher_suites: [TLS_RSA_WITH_3DES_EDE_CBC_SHA]\n"),
            "web.yml:4:19: unknown cipher suite \"TLS_RSA_WITH_3DES_EDE_CBC_SHA\""},
           {files.Tls("  cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]\n"),
            "unknown cipher suite \"ECDHE-RSA-AES128-GCM-SHA256\""},
           {files.Tls("  cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n"),
            "web.yml:4:43: cipher suite \"TLS_AES_128_GCM_SHA256\" is listed twice"},
           {files.Tls("  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"),
            "web.yml:4:3: cipher_suites names only TLS 1.3 suites, so no TLS 1.2 client could connect"},
           {files.Tls("  cipher_suites: TLS_AES_128_GCM_SHA256\n"), "web.yml:4:18: cipher_suites must be a list"},
           {files.Tls("  curve_preferences: [P-256]\n"), "web.yml:4:23: unknown curve \"P-256\" (allowed: CurveP256"},
           {files.Tls("  prefer_server_cipher_suites: yes\n"), "prefer_server_cipher_suites must be true or false"},
           {files.Tls(ca), "web.yml:4:3: a client CA is configured but client_auth_type is NoClientCert"},
           {files.Tls("  client_auth_type: RequireAndVerifyClientCert\n"),
            "web.yml:4:3: client_auth_type RequireAndVerifyClientCert needs client_ca_file"},
           {files.Tls("  client_auth_type: VerifyClientCertIfGiven\n"), "needs client_ca_file"},
           {files.Tls("  client_auth_type: VerifyClientCertIfGiven\n" + ca + "  client_allowed_sans: [a]\n"),
            "web.yml:6:3: client_allowed_sans needs client_auth_type RequireAndVerifyClientCert"},
           {files.Tls("  client_allowed_sans: []\n"), "client_allowed_sans needs client_auth_type"},
           {files.Tls("  client_ca_file: /nonexistent/ca.pem\n"), "web.yml:4:19: client_ca_file: cannot read"},
       }) {
    INFO(c.yaml);
    CHECK_THAT(ErrorOf(c.yaml), Catch::Contains(c.error));
  }
}

TEST_CASE("only the headers exporter-toolkit allows, with the values it allows, and sound rate limits") {
  struct Case {
    std::string yaml;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"http_server_config:\n  headers:\n    Server: x\n",
            "web.yml:3:5: HTTP header \"Server\" can not be configured (allowed: Strict-Transport-Security"},
           {"http_server_config:\n  headers:\n    x-frame-options: deny\n", "HTTP header \"x-frame-options\" can not"},
           {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            "web.yml:3:22: invalid value \"allow\" for X-Frame-Options (allowed: deny, sameorigin)"},
           {"http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", "(allowed: nosniff)"},
           {"http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nSet-Cookie: x\"\n",
            "web.yml:3:30: the value of Content-Security-Policy must be printable text on one line"},
           {"http_server_config:\n  http2: on\n", "http2 must be true or false"},
           {"http_server_config:\n  http3: true\n", "unknown key \"http3\" in http_server_config"},
           {"rate_limit:\n  interval: 1s\n", "web.yml:2:3: rate_limit needs a burst of at least 1"},
           {"rate_limit:\n  interval: soon\n  burst: 1\n", "web.yml:2:13: interval:"},
       }) {
    INFO(c.yaml);
    CHECK_THAT(ErrorOf(c.yaml), Catch::Contains(c.error));
  }
}

TEST_CASE("Go's cipher suite names are the list exporter-toolkit accepts, and the defaults are among them") {
  CHECK(ief::GoCipherSuiteNames().size() == 17);
  for (std::string_view name : ief::DefaultCipherSuiteNames()) {
    INFO(name);
    CHECK(std::find(ief::GoCipherSuiteNames().begin(), ief::GoCipherSuiteNames().end(), name) !=
          ief::GoCipherSuiteNames().end());
    CHECK_THAT(std::string(name), Catch::Contains("ECDHE") && !Catch::Contains("CBC"));
  }
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

TEST_CASE("the shipped example web config is valid") {
  std::ifstream in(std::string(IEF_SOURCE_DIR) + "/config/web.example.yml");
  std::stringstream example;
  example << in.rdbuf();
  REQUIRE_FALSE(example.str().empty());
  // Its certificate paths, pointed at files that exist here.
  PemFiles files;
  std::string text = example.str();
  for (auto [from, to] : {std::pair<std::string, std::string>{"/etc/ief_exporter/tls/tls.crt", files.cert.path()},
                          {"/etc/ief_exporter/tls/tls.key", files.key.path()}}) {
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), to);
  }
  auto config = ief::ParseWebConfig(text, "web.example.yml");
  INFO((config.ok() ? "" : config.error().message));
  REQUIRE(config.ok());
  CHECK(config->tls.has_value());
  CHECK(config->http.headers.size() == 3);
}
