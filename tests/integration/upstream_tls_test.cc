// The builtin client over TLS, for real: stunnel with a throw-away certificate for "localhost" in front of a
// local server. The certificate is trusted through SSL_CERT_FILE (OpenSSL's default verify paths), so the test
// also shows that verification is on: the same server reached by IP address is refused.
#include <cstdlib>

#include <catch2/catch.hpp>

#include "ief/http1_transport.h"
#include "support/fixtures.h"
#include "support/integration.h"
#include "web/http_server.h"

using namespace ief::testing;

TEST_CASE("the builtin client verifies TLS certificates and host names") {
  TestCertificate certificate("localhost", "DNS:localhost");
  REQUIRE(certificate.ok);
  setenv("SSL_CERT_FILE", certificate.cert.path().c_str(), 1);  // read when the first TLS connection is made

  auto server = ief::HttpServer::Start({"127.0.0.1:0", 2, 10000, 1 << 20, nullptr},
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

  ief::Http1Transport transport({});
  ief::HttpRequest request;
  request.url = "https://localhost:" + std::to_string(tls_port) + "/v2/p/productmgr/jobs/j";
  request.headers = {{"X-Auth-Token", "tok"}};
  ief::HttpResponse response;
  REQUIRE(Eventually([&] {
    response = transport.Send(request);
    return response.transport_ok;
  }));
  CHECK(response.status == 200);
  CHECK(response.body == "{\"token\":\"tok\"}");
  CHECK(transport.Send(request).body == "{\"token\":\"tok\"}");  // again, on the kept-alive TLS connection

  ief::Http1Transport by_address({});
  request.url = "https://127.0.0.1:" + std::to_string(tls_port) + "/v2/p/productmgr/jobs/j";
  response = by_address.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK_THAT(response.transport_error, Catch::StartsWith("TLS certificate not trusted: IP address mismatch"));
}
