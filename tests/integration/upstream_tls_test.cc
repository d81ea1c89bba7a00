// The upstream client over TLS, for real: the project's own HTTPS server with a throw-away certificate for
// "localhost". The certificate is trusted through SSL_CERT_FILE, so the test also shows that verification is on:
// the same server reached by IP address is refused.
#include <cstdlib>

#include <catch2/catch.hpp>

#include "support/fixtures.h"
#include "support/integration.h"
#include "upstream/http/curl_transport.h"
#include "web/http_server.h"
#include "web/tls_server.h"

using namespace ief::testing;

TEST_CASE("the upstream client verifies TLS certificates and host names") {
  TestCertificate certificate("localhost", "DNS:localhost");
  REQUIRE(certificate.ok);
  setenv("SSL_CERT_FILE", certificate.cert.path().c_str(), 1);

  ief::TlsServerConfig tls;
  tls.cert = {.file = certificate.cert.path(), .position = "test"};
  tls.key = {.file = certificate.key.path(), .position = "test"};
  auto context = ief::TlsServerContext::Create(tls);
  REQUIRE(context.ok());
  auto server = ief::HttpServer::Start({.listen_addresses = {"127.0.0.1:0"}, .num_threads = 2, .tls = *context},
                                       {{"/v2/p/productmgr/jobs/j", [](const ief::ServerRequest& request) {
                                          return ief::ServerReply{200, "application/json",
                                                                  "{\"token\":\"" + request.Header("x-auth-token") + "\"}",
                                                                  {}};
                                        }}});
  REQUIRE(server.ok());
  const int tls_port = (*server)->port();

  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.url = "https://localhost:" + std::to_string(tls_port) + "/v2/p/productmgr/jobs/j";
  request.headers = {{"X-Auth-Token", "tok"}};
  REQUIRE(Eventually([&] { return transport.Send(request).ok(); }));
  auto response = transport.Send(request);
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(response->body == "{\"token\":\"tok\"}");

  ief::CurlTransport by_address({});
  request.url = "https://127.0.0.1:" + std::to_string(tls_port) + "/v2/p/productmgr/jobs/j";
  auto refused = by_address.Send(request);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ief::ErrorKind::kTransport);
  CHECK_THAT(refused.error().message, Catch::Contains("127.0.0.1"));  // libcurl: "...does not match target host name"
  unsetenv("SSL_CERT_FILE");
}
