#include "web/exporter_web.h"

#include "util/gzip.h"
#include "version.h"

namespace ief {
namespace {

constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string LandingPage(const std::string& telemetry_path) {
  return std::string(
             "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>IEF Exporter</title></head>\n"
             "<body>\n<h1>IEF Exporter</h1>\n"
             "<p>Prometheus exporter for Huawei Cloud IEF batch jobs, version ") +
         kVersion + " (revision " + kRevision +
         ").</p>\n<ul>\n"
         "<li><a href=\"" + telemetry_path + "\">Metrics</a></li>\n"
         "<li><a href=\"/-/healthy\">Health</a></li>\n"
         "<li><a href=\"/-/ready\">Readiness</a></li>\n"
         "</ul>\n</body>\n</html>\n";
}

ServerReply MethodNotAllowed() { return ServerReply{405, "text/plain; charset=utf-8", "method not allowed\n", {}}; }

bool IsRead(const ServerRequest& request) { return request.method == "GET" || request.method == "HEAD"; }

ServerReply ServeMetrics(const ServerRequest& request, const Exposition& exposition) {
  if (!IsRead(request)) return MethodNotAllowed();
  auto text = std::make_shared<TextPieces>(exposition.RenderPieces());
  ServerReply reply{200, kExpositionContentType, ""};
  if (AcceptsGzip(request.Header("accept-encoding"))) {
    // Each job version is compressed once (by the first gzip scrape that sees it): the stream is joined from those
    // segments, not recompressed.
    std::shared_ptr<const void> gzip_owner;
    reply.body_pieces = *text->Gzipped(gzip_owner);
    reply.body_owner = std::make_shared<std::pair<std::shared_ptr<const void>, std::shared_ptr<const void>>>(
        std::move(text), std::move(gzip_owner));
    reply.headers.emplace_back("Content-Encoding", "gzip");
    return reply;
  }
  reply.body_pieces = text->pieces();  // sent as they are: no copy of the (possibly huge) exposition
  reply.body_owner = std::move(text);
  return reply;
}

}  // namespace

std::vector<Route> ExporterRoutes(const ExporterWebOptions& options, const Exposition& exposition,
                                  std::function<bool()> ready, std::function<Status()> reload) {
  std::vector<Route> routes;
  routes.push_back({options.telemetry_path,
                    [&exposition](const ServerRequest& request) { return ServeMetrics(request, exposition); }});
  routes.push_back({"/-/healthy", [](const ServerRequest& request) {
                      if (!IsRead(request)) return MethodNotAllowed();
                      return ServerReply{200, "text/plain; charset=utf-8", "Healthy\n", {}};
                    }});
  routes.push_back({"/-/ready", [ready](const ServerRequest& request) {
                      if (!IsRead(request)) return MethodNotAllowed();
                      if (ready()) return ServerReply{200, "text/plain; charset=utf-8", "Ready\n", {}};
                      return ServerReply{503, "text/plain; charset=utf-8", "Not ready: first poll round running\n", {}};
                    }});
  routes.push_back({"/-/reload", [reload](const ServerRequest& request) {
                      if (request.method != "POST" && request.method != "PUT") return MethodNotAllowed();
                      Status status = reload();
                      if (status.ok()) return ServerReply{200, "text/plain; charset=utf-8", "Config reloaded\n", {}};
                      return ServerReply{500, "text/plain; charset=utf-8",
                                         "failed to reload config: " + status.error().message + "\n", {}};
                    }});
  if (options.telemetry_path != "/") {
    std::string page = LandingPage(options.telemetry_path);
    routes.push_back({"/", [page](const ServerRequest& request) {
                        if (!IsRead(request)) return MethodNotAllowed();
                        return ServerReply{200, "text/html; charset=utf-8", page, {}};
                      }});
  }
  return routes;
}

}  // namespace ief
