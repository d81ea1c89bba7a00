#include "support/integration.h"

namespace ief::testing {

ief::HttpResponse Http(const std::string& method, const std::string& url, const std::string& body) {
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.method = method;
  request.url = url;
  request.body = body;
  return transport.Send(request);
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

std::map<std::string, double> Scrape(const RunningProcess& exporter) {
  return ParseExposition(Http("GET", exporter.url + "/metrics").body);
}

}  // namespace ief::testing
