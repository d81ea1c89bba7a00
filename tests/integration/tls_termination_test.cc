// The README's TLS recipe, run for real: stunnel terminates TLS in front of the exporter (Debian's CivetWeb
// cannot serve TLS with OpenSSL 3), and a scrape over HTTPS with basic auth works end to end.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/fixtures.h"
#include "support/integration.h"

using namespace ief::testing;

TEST_CASE("the README's stunnel recipe serves the metrics over HTTPS") {
  TestCertificate certificate("127.0.0.1", "IP:127.0.0.1");
  REQUIRE(certificate.ok);
  std::string output;

  ProtectedExporter protected_exporter("s3cret");
  const RunningProcess& exporter = protected_exporter.exporter;
  REQUIRE_FALSE(exporter.url.empty());

  int tls_port = FreeLoopbackPort();
  // The same stanza as the README, with test paths and ports.
  TempFile stunnel_conf("foreground = yes\npid =\n\n[ief_exporter]\naccept = 127.0.0.1:" + std::to_string(tls_port) +
                            "\nconnect = " + exporter.url.substr(7) + "\ncert = " + certificate.cert.path() +
                            "\nkey = " + certificate.key.path() + "\n",
                        ".conf");
  ChildProcess stunnel({"/usr/bin/stunnel4", stunnel_conf.path()});

  std::string https = "https://127.0.0.1:" + std::to_string(tls_port) + "/metrics";
  CHECK(Eventually([&] {
    std::vector<std::string> scrape = {"/usr/bin/curl", "-sf", "--cacert", certificate.cert.path(),
                                       "-u", "prometheus:s3cret", https};
    return RunCommand(scrape, "", output) == 0;
  }));
  CHECK_THAT(output, Catch::Contains("ief_exporter_build_info"));
  // Without credentials the exporter still says no, through the tunnel.
  RunCommand({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", certificate.cert.path(),
              https},
             "", output);
  CHECK(output == "401");
}
