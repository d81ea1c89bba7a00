// The upstream client over TLS, for real: stunnel with a throw-away certificate for "localhost" in front of a
// local server. The certificate is trusted through SSL_CERT_FILE, so the test also shows that verification is on:
// the same server reached by IP address is refused.
#include <cstdlib>

#include <catch2/catch.hpp>

#include "support/fixtures.h"
#include "support/integration.h"
#include "upstream/http/curl_transport.h"
#include "web/http_server.h"

using namespace ief::testing;

TEST_CASE("the upstream client verifies TLS certificates and host names") {
  TestCertificate certificate("localhost", "DNS:localhost");
  REQUIRE(certificate.ok);
  setenv("SSL_CERT_FILE", certificate.cert.path().c_str(), 1);

  auto server = ief::HttpServer::Start({{"127.0.0.1:0"}, 2, 10000, 1 << 20, nullptr},
                                       {{"/v2/p/productmgr/jobs/j", [](const ief::ServerRequest& request) {
                                          return ief::ServerReply{200, "application/json",
                                                                  "{\"token\":\"" + request.Header("x-auth-token") + "\"}",
                                                                  {}};
                                        }}});
  REQUIRE(server.ok());
  int tls_port = FreeLoopbackPort();
  TempFile stunnel_conf("foreground = yes\npid =\n\n[upstream]\naccept = 127.0.0.1:" + std::to_string(tls_port) +
                            "\nconnect = 127.0.0.1:" + std::to_string((*server)->port()) +
                            "\ncert = " + certificate.cert.path() + "\nkey = " + certificate.key.path() + "\n",
                        ".conf");
  ChildProcess stunnel({"/usr/bin/stunnel4", stunnel_conf.path()});

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
