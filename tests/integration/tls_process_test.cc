// ief_exporter serving HTTPS from a web config, as a process, checked with the clients people use: curl, openssl
// s_client, Debian's sslscan and Debian's Prometheus. IPv6 tests need [::1] and fail where it is missing.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/bcrypt.h"
#include "support/certificates.h"
#include "support/fixtures.h"
#include "support/integration.h"
#include "support/raw_client.h"

using namespace ief::testing;

namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult Run(std::vector<std::string> argv) {
  CommandResult result;
  result.exit_code = RunCommand(argv, "", result.output);
  return result;
}

// curl, silent but for errors, with a bounded time; `options` before the URL.
CommandResult Curl(const std::string& url, std::vector<std::string> options) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--max-time", "10"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(url);
  return Run(argv);
}

// The served certificate's common name, as a fresh handshake shows it.
std::string ServedCommonName(const std::string& address, const std::string& ca_file) {
  std::string output;
  RunCommand({"/usr/bin/openssl", "s_client", "-connect", address, "-brief", "-CAfile", ca_file}, "", output);
  size_t at = output.find("Peer certificate: CN = ");
  if (at == std::string::npos) return "";
  at += 23;
  return output.substr(at, output.find('\n', at) - at);
}

double MetricValue(const std::string& exposition, const std::string& series) {
  std::optional<double> value = Value(ParseExposition(exposition), series);
  return value.value_or(-1);
}

}  // namespace

TEST_CASE("the exporter serves HTTPS with basic auth on IPv4 and IPv6 at once, and shows its certificate's state") {
  REQUIRE(Ipv6LoopbackWorks());
  TestCa ca("ief test CA");
  TestCertificate server(ca, "ief-exporter", "IP:127.0.0.1,IP:::1", TestCertificate::Use::kServer);
  REQUIRE(server.ok);
  TlsExporter exporter(server, "basic_auth_users:\n  prometheus: " + BcryptHash("s3cret") + "\n",
                       {"127.0.0.1:0", "[::1]:0"});
  REQUIRE(exporter.addresses.size() == 2);
  CHECK_THAT(exporter.addresses[1], Catch::StartsWith("[::1]:"));
  CHECK_THAT(exporter.process->Output(), Catch::Contains("tls=true") && Catch::Contains("msg=\"TLS is enabled\""));
  const std::vector<std::string> trusted = {"--cacert", ca.cert.path(), "-u", "prometheus:s3cret"};
  for (size_t address : {0, 1}) {
    INFO(exporter.addresses[address]);
    CommandResult scrape = Curl(exporter.Url("/metrics", address), trusted);
    REQUIRE(scrape.exit_code == 0);
    CHECK(MetricValue(scrape.output, "ief_exporter_tls_certificate_reloads_total") == 0);
    CHECK(MetricValue(scrape.output, "ief_exporter_tls_certificate_reload_errors_total") == 0);
    CHECK(MetricValue(scrape.output, "ief_exporter_tls_certificate_expiry_timestamp_seconds") >
          static_cast<double>(std::time(nullptr)));
    CHECK(Curl(exporter.Url("/metrics", address), {"--cacert", ca.cert.path(), "-o", "/dev/null", "-w",
                                                   "%{http_code}"})
              .output == "401");
  }
  CHECK(Curl("http://" + exporter.addresses[0] + "/metrics", {}).exit_code != 0);  // no plain HTTP on a TLS port
  CHECK_THAT(exporter.process->Output(), !Catch::Contains("s3cret"));
}

TEST_CASE("a certificate replaced on disk is served within a minute while scrapes go on, and a broken one is not") {
  TestCa ca("ief test CA");
  TestCertificate first(ca, "first", "IP:127.0.0.1", TestCertificate::Use::kServer);
  TestCertificate second(ca, "second", "IP:127.0.0.1", TestCertificate::Use::kServer);
  REQUIRE((first.ok && second.ok));
  TlsExporter exporter(first, "");
  REQUIRE(exporter.addresses.size() == 1);
  const std::string address = exporter.addresses[0];
  REQUIRE(ServedCommonName(address, ca.cert.path()) == "first");

  // A scraper every 200 ms for the whole test, each scrape on a new connection, as Prometheus scrapes.
  std::atomic<bool> stop{false};
  std::atomic<int> scrapes{0}, failures{0};
  std::thread scraper([&] {
    while (!stop) {
      bool ok = Curl(exporter.Url("/metrics"), {"--cacert", ca.cert.path(), "-o", "/dev/null", "-f"}).exit_code == 0;
      ++scrapes;
      if (!ok) ++failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });

  // The renewal as Kubernetes writes a Secret volume: new files renamed over the old ones.
  auto started = std::chrono::steady_clock::now();
  std::string dir = exporter.dir.path();
  exporter.dir.Write("next.key", FileContent(second.key.path()));
  exporter.dir.Write("next.pem", FileContent(second.cert.path()));
  REQUIRE(std::rename((dir + "/next.key").c_str(), (dir + "/server.key").c_str()) == 0);
  REQUIRE(std::rename((dir + "/next.pem").c_str(), (dir + "/server.pem").c_str()) == 0);
  CHECK(Eventually([&] { return ServedCommonName(address, ca.cert.path()) == "second"; }, std::chrono::seconds(60)));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO("picked up after " << seconds << " s");
  CHECK(seconds < 15);  // the files are looked at every 5 s

  // A broken key: the second certificate stays, the error is logged and counted.
  exporter.dir.Write("server.key", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
  auto metrics = [&] { return Curl(exporter.Url("/metrics"), {"--cacert", ca.cert.path()}).output; };
  CHECK(Eventually([&] { return MetricValue(metrics(), "ief_exporter_tls_certificate_reload_errors_total") == 1; },
                   std::chrono::seconds(30)));
  CHECK(ServedCommonName(address, ca.cert.path()) == "second");
  CHECK(MetricValue(metrics(), "ief_exporter_tls_certificate_reloads_total") == 1);
  CHECK_THAT(exporter.process->Output(), Catch::Contains("Cannot reload the TLS certificate") &&
                                             Catch::Contains("server.key") && !Catch::Contains("not a key"));

  stop = true;
  scraper.join();
  INFO(scrapes << " scrapes, " << failures << " failed");
  CHECK(scrapes > 20);
  CHECK(failures == 0);
}

TEST_CASE("sslscan finds no weak protocol, cipher or renegotiation on the default settings") {
  TestCa ca("ief test CA");
  TestCertificate ec(ca, "ief-exporter", "IP:127.0.0.1", TestCertificate::Use::kServer);
  TestCertificate rsa("ief-exporter", "IP:127.0.0.1");
  REQUIRE((ec.ok && rsa.ok));
  for (const TestCertificate* certificate : {&ec, &rsa}) {
    TlsExporter exporter(*certificate, "");
    REQUIRE(exporter.addresses.size() == 1);
    CommandResult scan = Run({"/usr/bin/sslscan", "--no-colour", exporter.addresses[0]});
    INFO(scan.output);
    REQUIRE(scan.exit_code == 0);
    for (const char* line : {"SSLv2     disabled", "SSLv3     disabled", "TLSv1.0   disabled", "TLSv1.1   disabled",
                             "TLSv1.2   enabled", "TLSv1.3   enabled", "Session renegotiation not supported",
                             "TLSv1.3 not vulnerable to heartbleed", "TLSv1.2 not vulnerable to heartbleed"}) {
      CHECK_THAT(scan.output, Catch::Contains(line));
    }
    // Every suite it accepts has forward secrecy and authenticated encryption.
    int accepted = 0;
    std::istringstream lines(scan.output);
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("Accepted") && !line.starts_with("Preferred")) continue;
      ++accepted;
      INFO(line);
      CHECK_THAT(line, Catch::Contains("TLSv1.3") || Catch::Contains("ECDHE-"));
      CHECK_THAT(line, Catch::Contains("GCM") || Catch::Contains("CHACHA20"));
      CHECK_THAT(line, !Catch::Contains("CBC") && !Catch::Contains("SHA1") && !Catch::Contains("RC4") &&
                           !Catch::Contains("DES") && !Catch::Contains("NULL") && !Catch::Contains("EXP"));
    }
    CHECK(accepted >= 6);
  }
}

TEST_CASE("a broken TLS setting stops the exporter with its position, and --config.check checks it too") {
  TestCa ca("ief test CA");
  TestCertificate server(ca, "ief-exporter", "IP:127.0.0.1", TestCertificate::Use::kServer);
  TestCertificate other(ca, "other", "IP:127.0.0.1", TestCertificate::Use::kServer);
  REQUIRE((server.ok && other.ok));
  TempFile config(kUnreachableProjectConfig, ".yml");
  TempFile good("tls_server_config:\n  cert_file: " + server.cert.path() + "\n  key_file: " + server.key.path() + "\n",
                ".yml");
  TempFile mismatched("tls_server_config:\n  cert_file: " + server.cert.path() + "\n  key_file: " +
                          other.key.path() + "\n",
                      ".yml");
  TempFile unknown("tls_server_config:\n  cert_file: " + server.cert.path() + "\n  key_file: " + server.key.path() +
                       "\n  min_version: TLS11\n",
                   ".yml");
  std::string output;
  CHECK(RunCommand({IEF_EXPORTER_BIN, "--config.check", "--config.file=" + config.path(),
                    "--web.config.file=" + good.path()},
                   "", output) == 0);
  CHECK_THAT(output, Catch::Contains("web config is valid"));
  CHECK(RunCommand({IEF_EXPORTER_BIN, "--config.check", "--config.file=" + config.path(),
                    "--web.config.file=" + mismatched.path()},
                   "", output) == 1);
  CHECK_THAT(output, Catch::Contains(mismatched.path() + ":3:3: key " + other.key.path() +
                                     ": it does not belong to the certificate"));
  ChildProcess refused({IEF_EXPORTER_BIN, "--config.file=" + config.path(), "--web.config.file=" + unknown.path(),
                        "--web.listen-address=127.0.0.1:0"});
  CHECK(refused.WaitForExit() == 1);
  CHECK_THAT(refused.Output(), Catch::Contains(unknown.path() + ":4:16: min_version TLS11 is not supported"));
}

TEST_CASE("a real Prometheus scrapes over HTTPS with tls_config, a client certificate and basic auth, on IPv4 and IPv6") {
  REQUIRE(Ipv6LoopbackWorks());
  TestCa ca("ief test CA");
  TestCertificate server(ca, "ief-exporter", "IP:127.0.0.1,IP:::1", TestCertificate::Use::kServer);
  TestCertificate client(ca, "prometheus", "DNS:prometheus.monitoring.svc", TestCertificate::Use::kClient);
  REQUIRE((server.ok && client.ok));
  TlsExporter mutual(server,
                     "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + ca.cert.path() +
                         "\n  client_allowed_sans: [prometheus.monitoring.svc]\n"
                         "basic_auth_users:\n  prometheus: " + BcryptHash("s3cret") + "\n",
                     {"127.0.0.1:0", "[::1]:0"});
  REQUIRE(mutual.addresses.size() == 2);
  // Without the client certificate even the right password gets nowhere.
  CHECK(Curl(mutual.Url("/metrics"), {"--cacert", ca.cert.path(), "-u", "prometheus:s3cret"}).exit_code != 0);

  TempDirectory dir;
  std::string password = dir.Write("password", "s3cret");
  std::string tls_config = "    scheme: https\n    basic_auth: {username: prometheus, password_file: " + password +
                           "}\n    tls_config: {ca_file: " + ca.cert.path() + ", cert_file: " + client.cert.path() +
                           ", key_file: " + client.key.path() + "}\n";
  std::string prometheus_config = dir.Write(
      "prometheus.yml", "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: ief_ipv4\n" + tls_config +
                            "    static_configs: [{targets: ['" + mutual.addresses[0] + "']}]\n"
                            "  - job_name: ief_ipv6\n" + tls_config +
                            "    static_configs: [{targets: ['" + mutual.addresses[1] + "']}]\n");
  RunningPrometheus prometheus = StartPrometheus(prometheus_config, dir.path() + "/tsdb");
  INFO(prometheus.process->Output());
  REQUIRE_FALSE(prometheus.url.empty());
  const std::string& prometheus_url = prometheus.url;
  for (const char* job : {"ief_ipv4", "ief_ipv6"}) {
    INFO(job);
    std::string query = prometheus_url + "/api/v1/query?query=" +
                        std::string("up%7Bjob%3D%22") + job + "%22%7D%20%3D%3D%201";  // up{job="..."} == 1
    CHECK(Eventually([&] { return Http("GET", query).body.find("\"result\":[{") != std::string::npos; },
                     std::chrono::seconds(30)));
    std::string samples = prometheus_url + "/api/v1/query?query=ief_exporter_build_info%7Bjob%3D%22" + job + "%22%7D";
    CHECK(Eventually([&] { return Http("GET", samples).body.find("\"result\":[{") != std::string::npos; },
                     std::chrono::seconds(30)));
  }
}
