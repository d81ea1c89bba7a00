// The --web.config.file, in the Prometheus exporter-toolkit format (its docs/web-configuration.md): the same keys
// with the same meaning, read as strictly as the exporter's own config (unknown keys, wrong types and
// contradictions are errors with file:line:column).
//   tls_server_config:   HTTPS (and mutual TLS) on every listen address
//   http_server_config:  http2, headers (the security headers exporter-toolkit allows)
//   basic_auth_users:    NAME: BCRYPT-HASH
//   rate_limit:          interval + burst, for all requests together
// Where this reading is stricter than exporter-toolkit's, the README says so ("Protecting the endpoint").
// Certificates and keys are only located here (paths checked readable); the web module loads and checks them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/duration.h"
#include "util/result.h"

namespace ief {

// exporter-toolkit's client_auth_type values, as Go's crypto/tls defines them.
enum class ClientAuthType {
  kNoClientCert,                // no certificate asked for
  kRequestClientCert,           // asked for, not required, not verified
  kRequireAnyClientCert,        // required, not verified
  kVerifyClientCertIfGiven,     // not required, verified against the client CA when given
  kRequireAndVerifyClientCert,  // required and verified: the one that authenticates clients
};

// Its exporter-toolkit name ("RequireAndVerifyClientCert").
std::string_view ClientAuthName(ClientAuthType type);

// Only the versions OpenSSL 3 negotiates at its default security level; TLS10 and TLS11 are refused by the loader.
enum class TlsVersion { kTls12, kTls13 };

// exporter-toolkit's curve_preferences names: CurveP256, CurveP384, CurveP521, X25519.
enum class TlsCurve { kP256, kP384, kP521, kX25519 };

// PEM text given inline (cert, key, client_ca) or as a file (cert_file, key_file, client_ca_file), and where the
// web config says so, for errors found when the web module loads it.
struct PemSource {
  std::string file;        // joined with the web config's folder when relative
  std::string inline_pem;  // the PEM itself (a key given inline is a secret: never logged)
  std::string position;    // "web.yml:3:5"
  bool given() const { return !file.empty() || !inline_pem.empty(); }
};

struct TlsServerConfig {
  PemSource cert;
  PemSource key;
  PemSource client_ca;
  ClientAuthType client_auth = ClientAuthType::kNoClientCert;
  // When set, the client certificate must carry one of these subject alternative names (DNS, IP, e-mail or
  // URI), exactly; an empty list admits nobody, as in exporter-toolkit.
  std::optional<std::vector<std::string>> client_allowed_sans;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // Names as Go spells them (the IANA names), each one of Go's tls.CipherSuites(); empty: the default list.
  std::vector<std::string> cipher_suites;
  std::vector<TlsCurve> curve_preferences;  // empty: X25519, P-256, P-384, P-521
  bool prefer_server_cipher_suites = true;
};

struct HttpServerConfig {
  // Accepted for compatibility; this server speaks HTTP/1.1 only (README "Protecting the endpoint").
  bool http2 = true;
  std::vector<std::pair<std::string, std::string>> headers;  // added to every answer
};

// exporter-toolkit's rate_limit: a token bucket for all requests together (answered 429 beyond it).
struct RateLimitConfig {
  Duration interval{0};  // one more request allowed per interval; 0: no limit
  int burst = 0;
};

struct WebConfig {
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
  std::optional<TlsServerConfig> tls;                    // unset: plain HTTP
  HttpServerConfig http;
  RateLimitConfig rate_limit;
};

// The cipher suites exporter-toolkit accepts (Go's tls.CipherSuites(): the secure ones) and the six it uses
// here when cipher_suites is empty (ECDHE with AEAD: forward secrecy and no CBC). TLS 1.3 suites can be named but,
// as in Go, are not configurable: TLS 1.3 always offers its three.
const std::vector<std::string_view>& GoCipherSuiteNames();
const std::vector<std::string_view>& DefaultCipherSuiteNames();
bool IsTls13CipherSuite(std::string_view name);

// Like LoadConfigFile (config.h): every problem with its position, safe at any nesting. Relative file paths are
// taken from the folder of `source`.
Result<WebConfig> LoadWebConfigFile(const std::string& path);
Result<WebConfig> ParseWebConfig(std::string_view text, const std::string& source);

}  // namespace ief
