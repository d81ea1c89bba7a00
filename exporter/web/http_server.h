// A small HTTP server on CivetWeb with a route table of plain functions. Both the exporter's web endpoint and the
// IEF simulator use it; handlers are ordinary functions, so tests can call them without a socket.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace ief {

struct ServerRequest {
  std::string method;
  std::string path;   // decoded by CivetWeb, without the query
  std::string query;  // raw query string, without '?'
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased

  // The header's value, or "" when absent. `name` must be lower case.
  std::string Header(const std::string& name) const;
  // A query parameter's value (URL-decoded), or nullopt.
  std::optional<std::string> QueryParam(const std::string& name) const;
};

struct ServerReply {
  ServerReply() = default;
  ServerReply(int status_code, std::string type, std::string text,
              std::vector<std::pair<std::string, std::string>> extra_headers = {})
      : status(status_code), content_type(std::move(type)), body(std::move(text)), headers(std::move(extra_headers)) {}

  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Sent after `body`, without being copied into one buffer first (large scrapes). `body_owner` keeps the text
  // the views point into alive until the reply is written.
  std::vector<std::string_view> body_pieces;
  std::shared_ptr<const void> body_owner;
};

using RouteHandler = std::function<ServerReply(const ServerRequest&)>;

struct Route {
  std::string path;     // exact path, or a prefix when it ends with '/'
  RouteHandler handler;
};

struct HttpServerOptions {
  std::string listen_address;     // HOST:PORT (IPv4); PORT 0 picks a free port
  int num_threads = 8;
  int request_timeout_ms = 10000;
  size_t max_request_body_bytes = 1 << 20;
  // When set, every request must pass it, else it gets 401 with a Basic challenge.
  std::function<bool(const ServerRequest&)> authorize;
};

// Turns a Prometheus-style HOST:PORT into CivetWeb's listening_ports spelling. IPv6 is refused: Debian's CivetWeb
// is built without it.
Result<std::string> ToCivetListeningPort(const std::string& listen_address);

class HttpServer {
 public:
  // Starts listening; the error carries CivetWeb's own reason (port in use, bad address...).
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options, std::vector<Route> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port actually bound (useful with port 0).
  int port() const { return port_; }

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace ief
