#include "config/web_config.h"

#include <algorithm>
#include <filesystem>

#include "config/yaml_reader.h"
#include "util/file.h"
#include "util/text.h"

namespace ief {
namespace {

using Presence = ConfigReader::Presence;

bool LooksLikeBcrypt(const std::string& hash) {
  return hash.size() == 60 && (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"));
}

std::string Joined(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view name : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

// A scalar that must be one of `names`: its index, or nullopt (reported) when it is none of them.
std::optional<size_t> OneOf(ConfigReader& r, const YAML::Node& value, std::string_view what,
                            const std::vector<std::string_view>& names) {
  if (!value.IsScalar()) {
    r.Fail(value.Mark(), std::string(what) + " must be a string");
    return std::nullopt;
  }
  auto it = std::find(names.begin(), names.end(), value.Scalar());
  if (it == names.end()) {
    r.Fail(value.Mark(), "unknown " + std::string(what) + " " + Quoted(value.Scalar()) + " (allowed: " + Joined(names) + ")");
    return std::nullopt;
  }
  return static_cast<size_t>(it - names.begin());
}

std::optional<size_t> OneOf(ConfigReader& r, const YAML::Node& map, std::string_view key, std::string_view what,
                            const std::vector<std::string_view>& names) {
  YAML::Node value = ConfigReader::Child(map, key);
  if (!value.IsDefined() || value.IsNull()) return std::nullopt;
  return OneOf(r, value, what, names);
}

// Each item of a list that must be one of `names`, in order; duplicates are refused.
std::vector<size_t> ListOf(ConfigReader& r, const YAML::Node& map, std::string_view key, std::string_view what,
                           const std::vector<std::string_view>& names) {
  std::vector<size_t> picked;
  YAML::Node list = ConfigReader::Child(map, key);
  if (!list.IsDefined() || list.IsNull()) return picked;
  if (!list.IsSequence()) {
    r.Fail(list.Mark(), std::string(key) + " must be a list");
    return picked;
  }
  for (const YAML::Node& item : list) {
    std::optional<size_t> index = OneOf(r, item, what, names);
    if (!index) continue;
    if (std::find(picked.begin(), picked.end(), *index) != picked.end()) {
      r.Fail(item.Mark(), std::string(what) + " " + Quoted(item.Scalar()) + " is listed twice");
      continue;
    }
    picked.push_back(*index);
  }
  return picked;
}

const std::vector<std::string_view> kClientAuthNames = {"NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                                                        "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"};
const std::vector<std::string_view> kVersionNames = {"TLS10", "TLS11", "TLS12", "TLS13"};
const std::vector<std::string_view> kCurveNames = {"CurveP256", "CurveP384", "CurveP521", "X25519"};

// TLS10 and TLS11 are exporter-toolkit names, but OpenSSL 3 at its default security level negotiates neither (it
// has no cipher suite for them left), and lowering the level would weaken every connection.
std::optional<TlsVersion> ReadVersion(ConfigReader& r, const YAML::Node& tls, std::string_view key) {
  std::optional<size_t> index = OneOf(r, tls, key, "TLS version", kVersionNames);
  if (!index) return std::nullopt;
  if (*index < 2) {
    r.Fail(ConfigReader::Child(tls, key).Mark(),
           std::string(key) + " " + std::string(kVersionNames[*index]) +
               " is not supported: OpenSSL 3 negotiates TLS 1.2 and 1.3 only at its default security level");
    return std::nullopt;
  }
  return *index == 2 ? TlsVersion::kTls12 : TlsVersion::kTls13;
}

ClientAuthType ReadClientAuth(ConfigReader& r, const YAML::Node& tls) {
  YAML::Node value = ConfigReader::Child(tls, "client_auth_type");
  // As in exporter-toolkit: blank means NoClientCert, and RequireClientCert is the old name of RequireAnyClientCert.
  if (value.IsScalar() && value.Scalar().empty()) return ClientAuthType::kNoClientCert;
  if (value.IsScalar() && value.Scalar() == "RequireClientCert") return ClientAuthType::kRequireAnyClientCert;
  std::optional<size_t> index = OneOf(r, tls, "client_auth_type", "client_auth_type", kClientAuthNames);
  return index ? static_cast<ClientAuthType>(*index) : ClientAuthType::kNoClientCert;
}

void ReadPem(ConfigReader& r, const YAML::Node& tls, std::string_view inline_key, std::string_view file_key,
             PemSource& pem, Presence presence, const std::string& base_dir) {
  ReadSecretPair(r, tls, inline_key, file_key, pem.inline_pem, pem.file, presence, base_dir);
  std::string_view given = ConfigReader::Child(tls, file_key).IsDefined() ? file_key : inline_key;
  pem.position = r.Where(ConfigReader::KeyMark(tls, given));
}

bool NeedsClientCa(ClientAuthType type) {
  return type == ClientAuthType::kVerifyClientCertIfGiven || type == ClientAuthType::kRequireAndVerifyClientCert;
}

// exporter-toolkit's checks, plus two of its own: a verifying client_auth_type needs a client CA (Go would fall
// back to the system's roots, which vouch for the whole web), and min_version must not be above max_version.
void CheckTlsConsistency(ConfigReader& r, const YAML::Node& tls, const TlsServerConfig& c) {
  const bool has_ca = c.client_ca.given();
  if (has_ca && c.client_auth == ClientAuthType::kNoClientCert) {
    r.Fail(ConfigReader::KeyMark(tls, c.client_ca.file.empty() ? "client_ca" : "client_ca_file"),
           "a client CA is configured but client_auth_type is NoClientCert");
  }
  if (!has_ca && NeedsClientCa(c.client_auth)) {
    r.Fail(ConfigReader::KeyMark(tls, "client_auth_type"),
           "client_auth_type " + std::string(kClientAuthNames[static_cast<size_t>(c.client_auth)]) +
               " needs client_ca_file (or client_ca): the CA that signs the client certificates");
  }
  if (ConfigReader::Child(tls, "client_allowed_sans").IsDefined() &&
      c.client_auth != ClientAuthType::kRequireAnyClientCert &&
      c.client_auth != ClientAuthType::kRequireAndVerifyClientCert) {
    r.Fail(ConfigReader::KeyMark(tls, "client_allowed_sans"),
           "client_allowed_sans needs client_auth_type RequireAndVerifyClientCert (or RequireAnyClientCert): the "
           "other types let a client connect without a certificate");
  }
  if (c.min_version == TlsVersion::kTls13 && c.max_version == TlsVersion::kTls12) {
    r.Fail(ConfigReader::KeyMark(tls, "min_version"), "min_version is above max_version");
  }
  bool names_tls12_suite = c.cipher_suites.empty() ||
                           std::any_of(c.cipher_suites.begin(), c.cipher_suites.end(),
                                       [](const std::string& name) { return !IsTls13CipherSuite(name); });
  if (c.min_version == TlsVersion::kTls12 && !names_tls12_suite) {
    r.Fail(ConfigReader::KeyMark(tls, "cipher_suites"),
           "cipher_suites names only TLS 1.3 suites, so no TLS 1.2 client could connect: add TLS 1.2 suites or set "
           "min_version: TLS13");
  }
}

std::optional<TlsServerConfig> ReadTls(ConfigReader& r, const YAML::Node& tls, const std::string& base_dir) {
  if (!r.CheckMap(tls, "tls_server_config",
                  {"cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type", "client_ca_file",
                   "client_allowed_sans", "min_version", "max_version", "cipher_suites", "curve_preferences",
                   "prefer_server_cipher_suites"})) {
    return std::nullopt;
  }
  TlsServerConfig c;
  // exporter-toolkit serves plain HTTP when tls_server_config names no certificate; here a tls_server_config
  // always means HTTPS, so an incomplete one is an error rather than a silent downgrade.
  ReadPem(r, tls, "cert", "cert_file", c.cert, Presence::kRequired, base_dir);
  ReadPem(r, tls, "key", "key_file", c.key, Presence::kRequired, base_dir);
  ReadPem(r, tls, "client_ca", "client_ca_file", c.client_ca, Presence::kOptional, base_dir);
  c.client_auth = ReadClientAuth(r, tls);
  if (auto sans = r.StringList(tls, "client_allowed_sans")) c.client_allowed_sans = *sans;
  if (auto v = ReadVersion(r, tls, "min_version")) c.min_version = *v;
  if (auto v = ReadVersion(r, tls, "max_version")) c.max_version = *v;
  for (size_t index : ListOf(r, tls, "cipher_suites", "cipher suite", GoCipherSuiteNames())) {
    c.cipher_suites.emplace_back(GoCipherSuiteNames()[index]);
  }
  for (size_t index : ListOf(r, tls, "curve_preferences", "curve", kCurveNames)) {
    c.curve_preferences.push_back(static_cast<TlsCurve>(index));
  }
  if (auto v = r.Bool(tls, "prefer_server_cipher_suites")) c.prefer_server_cipher_suites = *v;
  CheckTlsConsistency(r, tls, c);
  return c;
}

// The headers exporter-toolkit lets a web config add, with the values it allows (none listed: any value).
struct AllowedHeader {
  std::string_view name;
  std::vector<std::string_view> values;
};
const std::vector<AllowedHeader> kAllowedHeaders = {
    {"Strict-Transport-Security", {}},
    {"X-Content-Type-Options", {"nosniff"}},
    {"X-Frame-Options", {"deny", "sameorigin"}},
    {"X-XSS-Protection", {}},
    {"Content-Security-Policy", {}},
};

void ReadHeaders(ConfigReader& r, const YAML::Node& headers, HttpServerConfig& http) {
  if (!r.CheckMap(headers, "headers", {}, ConfigReader::Keys::kAny)) return;
  for (auto it = headers.begin(); it != headers.end(); ++it) {
    const YAML::Node name = it->first;
    const YAML::Node value = it->second;
    auto allowed = std::find_if(kAllowedHeaders.begin(), kAllowedHeaders.end(),
                                [&](const AllowedHeader& h) { return h.name == name.Scalar(); });
    if (allowed == kAllowedHeaders.end()) {
      std::vector<std::string_view> names;
      for (const AllowedHeader& h : kAllowedHeaders) names.push_back(h.name);
      r.Fail(name.Mark(), "HTTP header " + Quoted(name.Scalar()) + " can not be configured (allowed: " + Joined(names) + ")");
      continue;
    }
    if (!value.IsScalar() || !IsValidHeaderValue(value.Scalar())) {
      r.Fail(value.Mark(), "the value of " + std::string(allowed->name) + " must be printable text on one line");
      continue;
    }
    if (value.Scalar().empty()) continue;  // "Unset if blank"
    if (!allowed->values.empty() &&
        std::find(allowed->values.begin(), allowed->values.end(), value.Scalar()) == allowed->values.end()) {
      r.Fail(value.Mark(), "invalid value " + Quoted(value.Scalar()) + " for " + std::string(allowed->name) +
                               " (allowed: " + Joined(allowed->values) + ")");
      continue;
    }
    http.headers.emplace_back(std::string(allowed->name), value.Scalar());
  }
}

void ReadHttp(ConfigReader& r, const YAML::Node& http, HttpServerConfig& config) {
  if (!r.CheckMap(http, "http_server_config", {"http2", "headers"})) return;
  if (auto v = r.Bool(http, "http2")) config.http2 = *v;
  YAML::Node headers = ConfigReader::Child(http, "headers");
  if (headers.IsDefined() && !headers.IsNull()) ReadHeaders(r, headers, config);
}

void ReadRateLimit(ConfigReader& r, const YAML::Node& node, RateLimitConfig& limit) {
  if (!r.CheckMap(node, "rate_limit", {"interval", "burst"})) return;
  if (auto v = r.DurationValue(node, "interval", Duration(0))) limit.interval = *v;
  if (auto v = r.Integer(node, "burst", 0, 1000000)) limit.burst = static_cast<int>(*v);
  if (limit.interval > Duration(0) && limit.burst < 1) {
    r.Fail(node.Mark(), "rate_limit needs a burst of at least 1 (with burst 0 every request would be refused)");
  }
}

void ReadUsers(ConfigReader& r, const YAML::Node& users, WebConfig& config) {
  if (!r.CheckMap(users, "basic_auth_users", {}, ConfigReader::Keys::kAny)) return;
  for (auto it = users.begin(); it != users.end(); ++it) {
    const YAML::Node name = it->first;
    const YAML::Node hash = it->second;
    if (!hash.IsScalar() || !LooksLikeBcrypt(hash.Scalar())) {
      r.Fail(hash.Mark(), "the password of " + Quoted(name.Scalar()) + " must be a bcrypt hash ($2y$...)");
      continue;
    }
    config.basic_auth_users[name.Scalar()] = hash.Scalar();
  }
}

YAML::Node Present(const YAML::Node& root, std::string_view key) {
  YAML::Node node = ConfigReader::Child(root, key);
  return node.IsDefined() && !node.IsNull() ? node : YAML::Node(YAML::NodeType::Undefined);
}

Result<WebConfig> ParseWebConfigOnThisThread(std::string_view text, const std::string& source) {
  ConfigReader reader(source);
  YAML::Node root;
  if (!LoadYaml(reader, text, root)) return Error(ErrorKind::kInvalidArgument, reader.JoinedErrors());
  WebConfig config;
  const std::string base_dir = std::filesystem::path(source).parent_path().string();
  if (reader.CheckMap(root, "the web config",
                      {"tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"})) {
    if (YAML::Node tls = ConfigReader::Child(root, "tls_server_config"); tls.IsNull()) {
      reader.Fail(ConfigReader::KeyMark(root, "tls_server_config"),
                  "tls_server_config has no value: name cert_file and key_file, or leave it out for plain HTTP");
    } else if (tls.IsDefined()) {
      config.tls = ReadTls(reader, tls, base_dir);
    }
    if (YAML::Node http = Present(root, "http_server_config"); http.IsDefined()) ReadHttp(reader, http, config.http);
    if (YAML::Node limit = Present(root, "rate_limit"); limit.IsDefined()) ReadRateLimit(reader, limit, config.rate_limit);
    if (YAML::Node users = Present(root, "basic_auth_users"); users.IsDefined()) ReadUsers(reader, users, config);
  }
  if (reader.HasErrors()) return Error(ErrorKind::kInvalidArgument, reader.JoinedErrors());
  return config;
}

}  // namespace

std::string_view ClientAuthName(ClientAuthType type) { return kClientAuthNames[static_cast<size_t>(type)]; }

const std::vector<std::string_view>& GoCipherSuiteNames() {
  static const std::vector<std::string_view> kNames = {
      "TLS_RSA_WITH_AES_128_CBC_SHA",
      "TLS_RSA_WITH_AES_256_CBC_SHA",
      "TLS_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_AES_128_GCM_SHA256",
      "TLS_AES_256_GCM_SHA384",
      "TLS_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
      "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
      "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
      "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  };
  return kNames;
}

const std::vector<std::string_view>& DefaultCipherSuiteNames() {
  static const std::vector<std::string_view> kNames = {
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",       "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  };
  return kNames;
}

bool IsTls13CipherSuite(std::string_view name) {
  return name == "TLS_AES_128_GCM_SHA256" || name == "TLS_AES_256_GCM_SHA384" || name == "TLS_CHACHA20_POLY1305_SHA256";
}

Result<WebConfig> ParseWebConfig(std::string_view text, const std::string& source) {
  return ParseOnLargeStack<WebConfig>(source, [&] { return ParseWebConfigOnThisThread(text, source); });
}

Result<WebConfig> LoadWebConfigFile(const std::string& path) {
  Result<std::string> text = ReadFileCapped(path, 1 << 20);
  if (!text.ok()) return text.error();
  return ParseWebConfig(*text, path);
}

}  // namespace ief
