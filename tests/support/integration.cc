#include "support/integration.h"

#include "support/bcrypt.h"
#include "upstream/http/curl_transport.h"
#include "util/url.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ief::testing {

TestResponse Http(const std::string& method, const std::string& url, const std::string& body) {
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  std::optional<ief::HttpMethod> known = ief::ParseHttpMethod(method);
  if (!known) return TestResponse{.error = "no such method: " + method};
  request.method = *known;
  request.url = url;
  request.body = body;
  ief::Result<ief::HttpResponse> response = transport.Send(request);
  if (!response.ok()) return TestResponse{.error = response.error().message};
  return TestResponse{.status = response->status, .body = std::move(response.value().body)};
}

std::optional<double> Value(const std::map<std::string, double>& metrics, const std::string& series) {
  auto it = metrics.find(series);
  if (it == metrics.end()) return std::nullopt;
  return it->second;
}

RunningProcess StartListening(std::vector<std::string> argv) {
  RunningProcess running;
  running.process = std::make_unique<ChildProcess>(std::move(argv));
  int port = running.process->WaitForListeningPort();
  if (port > 0) running.url = "http://127.0.0.1:" + std::to_string(port);
  return running;
}

RunningProcess StartExporter(const std::string& config_path, const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {IEF_EXPORTER_BIN, "--config.file=" + config_path,
                                   "--web.listen-address=127.0.0.1:0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  RunningProcess exporter = StartListening(std::move(argv));
  if (!exporter.url.empty() && !Eventually([&] { return Http("GET", exporter.url + "/-/ready").status == 200; })) {
    exporter.url.clear();
  }
  return exporter;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

long SimulatorCount(const RunningProcess& simulator, const std::string& key) {
  return std::stol(Http("GET", simulator.url + "/sim/requests/" + key).body);
}

ProtectedExporter::ProtectedExporter(const std::string& password, int bcrypt_cost)
    : web_config("basic_auth_users:\n  prometheus: " + BcryptHash(password, bcrypt_cost) + "\n", ".yml"),
      config(kUnreachableProjectConfig, ".yml"),
      exporter(StartListening({IEF_EXPORTER_BIN, "--config.file=" + config.path(),
                               "--web.config.file=" + web_config.path(), "--web.listen-address=127.0.0.1:0"})) {}

TlsExporter::TlsExporter(const TestCertificate& server, const std::string& more_web_config,
                         const std::vector<std::string>& listen) {
  dir.Write("server.pem", FileContent(server.cert.path()));
  dir.Write("server.key", FileContent(server.key.path()));
  std::string web = dir.Write("web.yml", "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n" +
                                             more_web_config);
  std::vector<std::string> argv = {IEF_EXPORTER_BIN, "--config.file=" + config.path(), "--web.config.file=" + web};
  for (const std::string& address : listen) argv.push_back("--web.listen-address=" + address);
  process = std::make_unique<ChildProcess>(argv);
  addresses = process->WaitForListeningAddresses(listen.size());
}

int TlsExporter::Port(size_t address) const { return ief::SplitHostPort(addresses.at(address))->port.value_or(0); }

RunningPrometheus StartPrometheus(const std::string& config_path, const std::string& data_dir) {
  RunningPrometheus prometheus;
  int port = FreeLoopbackPort();
  prometheus.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/prometheus", "--config.file=" + config_path, "--storage.tsdb.path=" + data_dir,
                               "--web.listen-address=127.0.0.1:" + std::to_string(port)});
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  if (Eventually([&] { return Http("GET", url + "/-/ready").status == 200; }, std::chrono::seconds(30))) {
    prometheus.url = url;
  }
  return prometheus;
}

std::map<std::string, double> Scrape(const RunningProcess& exporter) {
  return ParseExposition(Http("GET", exporter.url + "/metrics").body);
}

}  // namespace ief::testing
