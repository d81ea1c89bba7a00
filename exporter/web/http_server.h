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
  // Close the connection after this reply (a refusal of a request whose body was not read). Only the status and
  // `body` are sent then, without `headers`.
  bool close_connection = false;
  // When set, the body is streamed after `body` in chunked transfer encoding: `next_chunk` fills the next chunk and
  // returns false after the last one. Streaming also ends when the client goes away. (The simulator's hostile
  // answers: endless or dripping bodies.)
  std::function<bool(std::string& chunk)> next_chunk;
};

using RouteHandler = std::function<ServerReply(const ServerRequest&)>;

struct Route {
  std::string path;     // exact path, or a prefix when it ends with '/'
  RouteHandler handler;
};

// What an authorizer decided about a request.
enum class AuthDecision {
  kAllowed,
  kRefused,  // answered 401 with a Basic challenge
  kBusy,     // answered 429 at once: the authorizer cannot check more credentials right now
};

// The defaults are the exporter's, sized for a hostile network (README, "Protecting the endpoint"). CivetWeb 1.15
// gives every open connection a worker thread of its own, from accept until close, so idle and slow clients are
// bounded in number by the workers and in time by the timeouts. Fields keep their historical order so positional
// initializers still compile; prefer designated ones.
struct HttpServerOptions {
  std::string listen_address;  // HOST:PORT (IPv4); PORT 0 picks a free port
  // Threads are cheap here (CivetWeb's workers run on 100 KiB stacks: about 16 KiB of memory each while idle, about
  // 100 KiB once they have served a gzip scrape, whose compressor each keeps; workers take requests in turn),
  // and a worker is what an idle or slow connection takes away from a scraper: keep far more than any legitimate
  // set of clients (a few Prometheus servers and people) so that a hundred idle connections leave plenty over.
  int num_threads = 256;
  // Bounds the whole request head, however slowly it trickles in (CivetWeb checks the total after every read;
  // measured: a byte every 200 ms is still cut at this deadline). A real client sends its head in one packet; 5 s
  // leaves room for a slow network and frees a worker held by a silent connection soon. While a reply is written
  // it bounds each stall (a client that stops reading is dropped after it), not the whole transfer: a client
  // that reads a trickle keeps its worker, which the worker count has to absorb.
  int request_timeout_ms = 5000;
  // Requests with a bigger body are refused (413) and their connection closed without reading the body. 0: no
  // request may carry a body at all (the exporter's endpoints take none), so none can be trickled in.
  size_t max_request_body_bytes = 1 << 20;
  // When set, every request must pass it.
  std::function<AuthDecision(const ServerRequest&)> authorize = nullptr;
  // How long a kept-alive connection may wait for (the whole head of) its next request. Longer than this a
  // connection is closed and the client reconnects (one TCP handshake); an attacker's connection never holds a
  // worker longer than a silent new one would.
  int keep_alive_timeout_ms = 5000;
  // Accepted connections waiting for a free worker (CivetWeb's own queue), and the kernel's listen backlog behind
  // it. Only used once every worker is busy: then new connections wait their turn instead of being refused.
  int connection_queue = 64;
  int listen_backlog = 1024;
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
