// HTTPS from the web server, checked with real clients (curl and openssl s_client, as Prometheus users would
// check it) and with an OpenSSL client of our own for the hostile cases: versions, client_auth_type,
// client_allowed_sans, certificate reloads, cipher suites and curves, handshake deadlines.
#include "web/tls_server.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/certificates.h"
#include "support/manual_clock.h"
#include "support/process.h"
#include "support/raw_client.h"
#include "web/http_server.h"

using namespace ief::testing;
using std::chrono::milliseconds;

namespace {

// A CA with a server certificate for the loopback addresses, a client certificate it signed, and a client
// certificate from another CA.
struct Pki {
  TestCa ca{"ief test CA"};
  TestCa other_ca{"another CA"};
  TestCertificate server{ca, "ief-exporter", "IP:127.0.0.1,IP:::1,DNS:localhost", TestCertificate::Use::kServer};
  TestCertificate client{ca, "prometheus", "DNS:prometheus.example,IP:10.0.0.7", TestCertificate::Use::kClient};
  TestCertificate stranger{other_ca, "prometheus", "DNS:prometheus.example", TestCertificate::Use::kClient};
  bool ok() const { return ca.ok && other_ca.ok && server.ok && client.ok && stranger.ok; }
};

ief::PemSource File(const std::string& path, const char* position) { return {.file = path, .position = position}; }

ief::TlsServerConfig ConfigFor(const TestCertificate& server) {
  ief::TlsServerConfig config;
  config.cert = File(server.cert.path(), "web.yml:2:3");
  config.key = File(server.key.path(), "web.yml:3:3");
  return config;
}

std::shared_ptr<ief::TlsServerContext> Context(const ief::TlsServerConfig& config,
                                               ief::TlsServerContext::Options options = {}) {
  auto context = ief::TlsServerContext::Create(config, options);
  REQUIRE(context.ok());
  return *context;
}

ief::Route Text(const std::string& path, const std::string& text) {
  return {path, [text](const ief::ServerRequest&) { return ief::ServerReply{200, "text/plain", text, {}}; }};
}

std::unique_ptr<ief::HttpServer> Serve(std::shared_ptr<ief::TlsServerContext> tls, int request_timeout_ms = 5000) {
  auto server = ief::HttpServer::Start({.listen_addresses = {"127.0.0.1:0", "[::1]:0"},
                                        .num_threads = 8,
                                        .request_timeout_ms = request_timeout_ms,
                                        .tls = std::move(tls)},
                                       {Text("/x", "x")});
  REQUIRE(server.ok());
  return std::move(server).value();
}

std::string Url(const ief::HttpServer& server, const std::string& path = "/x") {
  return "https://127.0.0.1:" + std::to_string(server.port()) + path;
}

// curl's answer: the HTTP status, or 0 when the TLS handshake (or what follows it) failed.
int CurlStatus(const std::string& url, const std::vector<std::string>& options) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(url);
  std::string output;
  RunCommand(argv, "", output);
  return std::atoi(output.c_str());
}

// openssl s_client sends a request and prints what comes back; its output, and whether it got a 200.
struct SClient {
  bool ok = false;
  std::string output;
};
SClient OpensslClient(int port, const std::vector<std::string>& options) {
  std::vector<std::string> argv = {"/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                                   "-brief", "-quiet"};
  argv.insert(argv.end(), options.begin(), options.end());
  SClient result;
  RunCommand(argv, "GET /x HTTP/1.0\r\n\r\n", result.output);
  result.ok = result.output.find("HTTP/1.1 200 OK") != std::string::npos;
  return result;
}

// The common name of the certificate a fresh handshake gets.
std::string ServedCommonName(int port, const std::string& ca_file) {
  SClient client = OpensslClient(port, {"-CAfile", ca_file});
  size_t at = client.output.find("Peer certificate: CN = ");
  if (at == std::string::npos) return "";
  at += 23;
  return client.output.substr(at, client.output.find('\n', at) - at);
}

// A server whose certificate and key files (copies of pki.server's) a test rewrites as cert-manager or certbot
// would, with `renewed` ready to take their place.
struct Rotation {
  explicit Rotation(std::chrono::milliseconds check_interval, const ief::Clock& clock = ief::SystemClock()) {
    REQUIRE((pki.ok() && renewed.ok));
    ief::TlsServerConfig config;
    config.cert = File(cert.path(), "web.yml:2:3");
    config.key = File(key.path(), "web.yml:3:3");
    context = Context(config, {.reload_check_interval = check_interval, .clock = &clock});
    server = Serve(context);
  }
  Pki pki;
  TestCertificate renewed{pki.ca, "ief-exporter-renewed", "IP:127.0.0.1", TestCertificate::Use::kServer};
  TempFile cert{FileContent(pki.server.cert.path()), ".pem"};
  TempFile key{FileContent(pki.server.key.path()), ".key"};
  std::shared_ptr<ief::TlsServerContext> context;
  std::unique_ptr<ief::HttpServer> server;
};

}  // namespace

TEST_CASE("TLS 1.2 and 1.3 are served on IPv4 and IPv6, TLS 1.1 and plain HTTP are refused") {
  Pki pki;
  REQUIRE(pki.ok());
  REQUIRE(Ipv6LoopbackWorks());
  auto context = Context(ConfigFor(pki.server));
  auto server = Serve(context);
  const int port = server->port();
  const int ipv6_port = *server->addresses()[1].port;

  CHECK(CurlStatus(Url(*server), {"--cacert", pki.ca.cert.path()}) == 200);
  CHECK(CurlStatus("https://[::1]:" + std::to_string(ipv6_port) + "/x", {"--cacert", pki.ca.cert.path()}) == 200);
  CHECK(CurlStatus(Url(*server), {"--cacert", pki.ca.cert.path(), "--tlsv1.3"}) == 200);
  CHECK(CurlStatus(Url(*server), {"--cacert", pki.ca.cert.path(), "--tls-max", "1.2"}) == 200);
  CHECK(CurlStatus(Url(*server), {}) == 0);  // the CA is not in the system's store: curl checks
  CHECK(CurlStatus("http://127.0.0.1:" + std::to_string(port) + "/x", {}) == 0);

  SClient tls13 = OpensslClient(port, {"-CAfile", pki.ca.cert.path(), "-tls1_3"});
  CHECK(tls13.ok);
  CHECK_THAT(tls13.output, Catch::Contains("Protocol version: TLSv1.3") && Catch::Contains("Verification: OK"));
  SClient tls12 = OpensslClient(port, {"-CAfile", pki.ca.cert.path(), "-tls1_2"});
  CHECK(tls12.ok);
  CHECK_THAT(tls12.output, Catch::Contains("Protocol version: TLSv1.2") && Catch::Contains("Ciphersuite: ECDHE-ECDSA-"));
  for (const char* old : {"-tls1_1", "-tls1"}) {
    INFO(old);
    SClient refused = OpensslClient(port, {old});
    CHECK_FALSE(refused.ok);
    CHECK_THAT(refused.output, !Catch::Contains("CONNECTION ESTABLISHED"));
  }
  // Renegotiation, which a client could otherwise ask for at will, is off (sslscan checks it end to end too).
  CHECK((SSL_CTX_get_options(context->native()) & SSL_OP_NO_RENEGOTIATION) != 0);
  // No session is ever resumed: the server hands out nothing a client could offer again (against a server that
  // resumes, s_client writes the session here, and offering it again makes the next handshake say "Reused").
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    INFO(version);
    TempFile session("", ".session");
    CHECK(OpensslClient(port, {"-CAfile", pki.ca.cert.path(), version, "-sess_out", session.path()}).ok);
    CHECK(FileContent(session.path()).empty());
  }
}

TEST_CASE("every client_auth_type against no certificate, one from another CA and a valid one") {
  Pki pki;
  REQUIRE(pki.ok());
  using Type = ief::ClientAuthType;
  struct Expectation {
    Type type;
    bool without, stranger, valid;
  };
  // exporter-toolkit's (Go's) meaning of each policy.
  for (const Expectation& e : {Expectation{Type::kNoClientCert, true, true, true},
                               Expectation{Type::kRequestClientCert, true, true, true},
                               Expectation{Type::kRequireAnyClientCert, false, true, true},
                               Expectation{Type::kVerifyClientCertIfGiven, true, false, true},
                               Expectation{Type::kRequireAndVerifyClientCert, false, false, true}}) {
    INFO(ief::ClientAuthName(e.type));
    ief::TlsServerConfig config = ConfigFor(pki.server);
    config.client_auth = e.type;
    if (e.type != Type::kNoClientCert) config.client_ca = File(pki.ca.cert.path(), "web.yml:4:3");
    auto server = Serve(Context(config));
    const std::vector<std::string> trust = {"--cacert", pki.ca.cert.path()};
    auto with = [&](const TestCertificate& certificate) {
      std::vector<std::string> options = trust;
      options.insert(options.end(), {"--cert", certificate.cert.path(), "--key", certificate.key.path()});
      return options;
    };
    CHECK((CurlStatus(Url(*server), trust) == 200) == e.without);
    CHECK((CurlStatus(Url(*server), with(pki.stranger)) == 200) == e.stranger);
    CHECK((CurlStatus(Url(*server), with(pki.client)) == 200) == e.valid);
    // openssl s_client agrees, over TLS 1.2 as well (where the refusal comes inside the handshake).
    SClient without = OpensslClient(server->port(), {"-CAfile", pki.ca.cert.path(), "-tls1_2"});
    CHECK(without.ok == e.without);
    SClient valid = OpensslClient(server->port(), {"-CAfile", pki.ca.cert.path(), "-cert", pki.client.cert.path(),
                                                   "-key", pki.client.key.path()});
    CHECK(valid.ok == e.valid);
  }
}

TEST_CASE("client_allowed_sans admits only client certificates that name an allowed SAN") {
  Pki pki;
  REQUIRE(pki.ok());
  TestCertificate other_name(pki.ca, "scraper", "DNS:scraper.example", TestCertificate::Use::kClient);
  REQUIRE(other_name.ok);
  ief::TlsServerConfig config = ConfigFor(pki.server);
  config.client_auth = ief::ClientAuthType::kRequireAndVerifyClientCert;
  config.client_ca = File(pki.ca.cert.path(), "web.yml:4:3");
  config.client_allowed_sans = std::vector<std::string>{"10.0.0.7", "other.example"};
  auto server = Serve(Context(config));
  auto status = [&](const TestCertificate& certificate) {
    return CurlStatus(Url(*server), {"--cacert", pki.ca.cert.path(), "--cert", certificate.cert.path(), "--key",
                                     certificate.key.path()});
  };
  CHECK(status(pki.client) == 200);     // its IP SAN 10.0.0.7 is allowed
  CHECK(status(other_name) == 0);       // verified, but names no allowed SAN
  CHECK(status(pki.stranger) == 0);     // not verified at all

  // With RequireAnyClientCert nothing is verified, but the SAN is still checked (exporter-toolkit's meaning).
  config.client_auth = ief::ClientAuthType::kRequireAnyClientCert;
  config.client_allowed_sans = std::vector<std::string>{"prometheus.example"};
  auto any = Serve(Context(config));
  CHECK(CurlStatus(Url(*any), {"--cacert", pki.ca.cert.path(), "--cert", pki.stranger.cert.path(), "--key",
                               pki.stranger.key.path()}) == 200);
  CHECK(CurlStatus(Url(*any), {"--cacert", pki.ca.cert.path(), "--cert", other_name.cert.path(), "--key",
                               other_name.key.path()}) == 0);
}

TEST_CASE("subject alternative names are compared as Go spells them") {
  TestCa ca("sans");
  TestCertificate certificate(ca, "many", "DNS:a.example,email:ops@example.org,URI:spiffe://cluster/ns/mon,"
                                          "IP:2001:db8:0:0:0:0:0:1,IP:::ffff:10.1.2.3,IP:192.0.2.9",
                              TestCertificate::Use::kClient);
  REQUIRE(certificate.ok);
  std::string pem = FileContent(certificate.cert.path());
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x509 = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(x509 != nullptr);
  for (const char* name : {"a.example", "ops@example.org", "spiffe://cluster/ns/mon", "2001:db8::1", "10.1.2.3",
                           "192.0.2.9"}) {
    INFO(name);
    CHECK(ief::HasAllowedSan(x509, {"nothing", name}));
  }
  for (const char* name : {"A.example", "example", "2001:db8:0:0:0:0:0:1", "::ffff:10.1.2.3", "many", ""}) {
    INFO(name);
    CHECK_FALSE(ief::HasAllowedSan(x509, {name}));
  }
  CHECK_FALSE(ief::HasAllowedSan(x509, {}));
  X509_free(x509);
}

TEST_CASE("a certificate replaced on disk is served from the next handshake, and a broken one leaves the old one") {
  Rotation rotation(std::chrono::hours(1));  // reloads by hand here
  const Pki& pki = rotation.pki;
  const TestCertificate& renewed = rotation.renewed;
  TempFile& cert = rotation.cert;
  TempFile& key = rotation.key;
  auto& context = rotation.context;
  auto& server = rotation.server;
  const TlsClientOptions trusted{.ca_file = pki.ca.cert.path()};
  RawConnection kept_alive(server->port(), trusted);
  REQUIRE(kept_alive.connected());
  REQUIRE(kept_alive.Send(GetRequest("/x")));
  CHECK(kept_alive.ReadResponseStatus(milliseconds(2000)) == 200);
  CHECK(ServedCommonName(server->port(), pki.ca.cert.path()) == "ief-exporter");
  CHECK(context->Stats().not_after > 0);

  context->ReloadIfChanged();  // nothing changed: nothing loaded
  CHECK(context->Stats().reloads == 0);

  cert.Write(FileContent(renewed.cert.path()));
  key.Write(FileContent(renewed.key.path()));
  context->ReloadIfChanged();
  CHECK(context->Stats().reloads == 1);
  CHECK(context->Stats().reload_errors == 0);
  CHECK(ServedCommonName(server->port(), pki.ca.cert.path()) == "ief-exporter-renewed");
  // The connection made before the reload goes on.
  REQUIRE(kept_alive.Send(GetRequest("/x")));
  CHECK(kept_alive.ReadResponseStatus(milliseconds(2000)) == 200);

  // Half a rotation: a new certificate with the old key. Refused; the renewed pair stays.
  cert.Write(FileContent(pki.server.cert.path()));
  context->ReloadIfChanged();
  CHECK(context->Stats().reload_errors == 1);
  CHECK(ServedCommonName(server->port(), pki.ca.cert.path()) == "ief-exporter-renewed");
  context->ReloadIfChanged();  // the same broken files are not reported twice
  CHECK(context->Stats().reload_errors == 1);
  key.Write("garbage");
  context->ReloadIfChanged();
  CHECK(context->Stats().reload_errors == 2);
  key.Write(FileContent(pki.server.key.path()));  // the rotation completes
  context->ReloadIfChanged();
  CHECK(context->Stats().reloads == 2);
  CHECK(ServedCommonName(server->port(), pki.ca.cert.path()) == "ief-exporter");
}

TEST_CASE("the certificate files are watched without being asked, every reload_check_interval") {
  ief::testing::ManualClock clock;  // outlives the watcher
  const ief::TlsServerContext::Options defaults;
  Rotation rotation(defaults.reload_check_interval, clock);
  auto served = [&] { return ServedCommonName(rotation.server->port(), rotation.pki.ca.cert.path()); };
  // A rename over the old file, as certbot and Kubernetes do it.
  TempFile next_cert(FileContent(rotation.renewed.cert.path()), ".pem");
  TempFile next_key(FileContent(rotation.renewed.key.path()), ".key");
  REQUIRE(std::rename(next_key.path().c_str(), rotation.key.path().c_str()) == 0);
  REQUIRE(std::rename(next_cert.path().c_str(), rotation.cert.path().c_str()) == 0);
  clock.Advance(defaults.reload_check_interval - std::chrono::seconds(1));
  CHECK(served() == "ief-exporter");  // not looked at yet
  CHECK(rotation.context->Stats().reloads == 0);
  // The watcher's first wait may begin after any one move of the clock: move it until the files are looked at.
  CHECK(Eventually(
      [&] {
        clock.Advance(defaults.reload_check_interval);
        return served() == "ief-exporter-renewed";
      },
      std::chrono::seconds(10)));
  // (The renewed pair is served a moment before the reload is counted.)
  CHECK(Eventually([&] { return rotation.context->Stats().reloads == 1; }));
}

TEST_CASE("cipher_suites, curve_preferences and max_version restrict what is negotiated") {
  Pki pki;
  REQUIRE(pki.ok());
  ief::TlsServerConfig config = ConfigFor(pki.server);
  config.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"};
  config.curve_preferences = {ief::TlsCurve::kP384};
  config.max_version = ief::TlsVersion::kTls12;
  auto server = Serve(Context(config));
  const int port = server->port();
  const std::string ca = pki.ca.cert.path();
  CHECK(OpensslClient(port, {"-CAfile", ca, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"}).ok);
  CHECK_FALSE(OpensslClient(port, {"-CAfile", ca, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}).ok);
  // (In TLS 1.2 the client's groups also decide which certificate curves it accepts: the server's is P-256.)
  SClient p384 = OpensslClient(port, {"-CAfile", ca, "-groups", "X25519:P-384:P-256"});
  CHECK(p384.ok);
  CHECK_THAT(p384.output, Catch::Contains("Server Temp Key: ECDH, secp384r1") || Catch::Contains("Server Temp Key: ECDH, P-384"));
  CHECK_FALSE(OpensslClient(port, {"-CAfile", ca, "-groups", "X25519"}).ok);
  CHECK_FALSE(OpensslClient(port, {"-CAfile", ca, "-tls1_3"}).ok);

  // Every name exporter-toolkit accepts is one OpenSSL knows.
  config = ConfigFor(pki.server);
  for (std::string_view name : ief::GoCipherSuiteNames()) config.cipher_suites.emplace_back(name);
  CHECK(ief::TlsServerContext::Create(config).ok());
}

TEST_CASE("certificate, key and CA problems name the web config position and the file, never the key") {
  Pki pki;
  REQUIRE(pki.ok());
  TempFile not_pem("hello", ".pem");
  TempFile encrypted("", ".key");
  std::string output;
  REQUIRE(RunCommand({"/usr/bin/openssl", "pkey", "-in", pki.server.key.path(), "-aes256", "-passout", "pass:secret",
                      "-out", encrypted.path()},
                     "", output) == 0);
  struct Case {
    ief::TlsServerConfig config;
    std::string error;
  };
  ief::TlsServerConfig mismatched = ConfigFor(pki.server);
  mismatched.key = File(pki.client.key.path(), "web.yml:3:3");
  ief::TlsServerConfig no_cert = ConfigFor(pki.server);
  no_cert.cert = File(not_pem.path(), "web.yml:2:3");
  ief::TlsServerConfig locked = ConfigFor(pki.server);
  locked.key = File(encrypted.path(), "web.yml:3:3");
  ief::TlsServerConfig inline_key = ConfigFor(pki.server);
  inline_key.key = {.inline_pem = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
                    .position = "web.yml:3:3"};
  ief::TlsServerConfig bad_ca = ConfigFor(pki.server);
  bad_ca.client_auth = ief::ClientAuthType::kRequireAndVerifyClientCert;
  bad_ca.client_ca = File(not_pem.path(), "web.yml:5:3");
  ief::TlsServerConfig missing = ConfigFor(pki.server);
  missing.cert = File("/nonexistent/cert.pem", "web.yml:2:3");
  for (const Case& c : std::vector<Case>{
           {mismatched, "web.yml:3:3: key " + pki.client.key.path() + ": it does not belong to the certificate"},
           {no_cert, "web.yml:2:3: certificate " + not_pem.path() + ": no PEM certificate in it"},
           {locked, "web.yml:3:3: key " + encrypted.path() + ": no usable private key in it (PEM, unencrypted)"},
           {inline_key, "web.yml:3:3: key: no usable private key in it"},
           {bad_ca, "web.yml:5:3: client CA " + not_pem.path() + ": no PEM certificate in it"},
           {missing, "web.yml:2:3: certificate: cannot read /nonexistent/cert.pem"},
       }) {
    auto context = ief::TlsServerContext::Create(c.config);
    REQUIRE_FALSE(context.ok());
    CHECK_THAT(context.error().message, Catch::StartsWith(c.error));
    CHECK_THAT(context.error().message, !Catch::Contains("c2VjcmV0") && !Catch::Contains("BEGIN"));
  }
}

TEST_CASE("a client that never says hello, or stalls in the middle of the handshake, is cut at the deadline") {
  Pki pki;
  REQUIRE(pki.ok());
  auto server = Serve(Context(ConfigFor(pki.server)), /*request_timeout_ms=*/500);
  RawConnection silent(server->port());
  RawConnection stalled(server->port(), TlsClientOptions{.stall_after_hello = true});
  RawConnection idle(server->port(), TlsClientOptions{.ca_file = pki.ca.cert.path()});  // handshake done, no request
  REQUIRE((silent.connected() && stalled.connected() && idle.connected()));
  for (RawConnection* connection : {&silent, &stalled, &idle}) {
    std::optional<double> closed = connection->SecondsUntilClosed(milliseconds(5000));
    REQUIRE(closed.has_value());
    CHECK(*closed < 1.6);
  }
}
