#include "web/exporter_web.h"

#include "util/gzip.h"
#include "util/large_stack.h"

namespace ief {
namespace {

constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextContentType = "text/plain; charset=utf-8";
// The landing page is one document with inline CSS and nothing else: the browser is told to run no script and
// load nothing, a second line of defence behind escaping (job names and failure reasons come from the API).
constexpr const char* kLandingPagePolicy =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

ServerReply MethodNotAllowed(const char* allowed = "GET, HEAD") {
  return ServerReply{405, kTextContentType, "method not allowed\n", {{"Allow", allowed}}};
}

bool IsRead(const ServerRequest& request) { return request.method == "GET" || request.method == "HEAD"; }

ServerReply ServeReload(const ServerRequest& request, bool enabled, const std::function<Status()>& reload) {
  if (request.method != "POST") return MethodNotAllowed("POST");
  if (!enabled) return ServerReply{403, kTextContentType, "Lifecycle API is not enabled.\n", {}};
  Status status = Status::Ok();
  // This runs on a CivetWeb worker, whose 100 KiB stack a deeply nested config (or regex) would overflow.
  Status ran = RunWithStack(kLargeStackBytes, [&] { status = reload(); });
  if (!ran.ok()) status = ran;
  if (status.ok()) return ServerReply{200, kTextContentType, "Config reloaded\n", {}};
  return ServerReply{500, kTextContentType, "failed to reload config: " + status.error().message + "\n", {}};
}

ServerReply ServeMetrics(const ServerRequest& request, const Exposition& exposition) {
  if (!IsRead(request)) return MethodNotAllowed();
  auto text = std::make_shared<TextPieces>(exposition.RenderPieces());
  ServerReply reply{200, kExpositionContentType, ""};
  if (AcceptsGzip(request.Header("accept-encoding"))) {
    // Each job's families are kept as deflate segments: the stream is joined from them, not compressed now.
    std::shared_ptr<const void> gzip_owner;
    reply.body_pieces = text->Gzipped(gzip_owner);
    reply.body_owner = std::make_shared<std::pair<std::shared_ptr<const void>, std::shared_ptr<const void>>>(
        std::move(text), std::move(gzip_owner));
    reply.headers.emplace_back("Content-Encoding", "gzip");
    return reply;
  }
  // Plain text is inflated as it is written, a chunk at a time.
  reply.streamed_length = text->size();
  auto reader = std::make_shared<PlainTextReader>(std::move(text));
  reply.next_chunk = [reader](std::string& chunk) { return reader->Next(chunk); };
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
                      return ServerReply{200, kTextContentType, "Healthy\n", {}};
                    }});
  routes.push_back({"/-/ready", [ready](const ServerRequest& request) {
                      if (!IsRead(request)) return MethodNotAllowed();
                      if (ready()) return ServerReply{200, kTextContentType, "Ready\n", {}};
                      return ServerReply{503, kTextContentType, "Not ready: first poll round running\n", {}};
                    }});
  routes.push_back({"/-/reload", [enabled = options.enable_lifecycle, reload](const ServerRequest& request) {
                      return ServeReload(request, enabled, reload);
                    }});
  if (options.telemetry_path != "/") {
    routes.push_back({"/", [options](const ServerRequest& request) {
                        if (!IsRead(request)) return MethodNotAllowed();
                        LandingPage page = options.landing_page ? options.landing_page() : LandingPage{};
                        page.telemetry_path = options.telemetry_path;
                        return ServerReply{200, "text/html; charset=utf-8", RenderLandingPage(page),
                                           {{"Content-Security-Policy", kLandingPagePolicy},
                                            {"X-Content-Type-Options", "nosniff"}}};
                      }});
  }
  return routes;
}

}  // namespace ief
