// A small HTTP server on CivetWeb with a route table of plain functions. Both the exporter's web endpoint and the
// IEF simulator use it; handlers are ordinary functions, so tests can call them without a socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"
#include "util/url.h"
#include "web/tls_server.h"

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
  // With `next_chunk`: the streamed body's length, when known before the first chunk. The chunks then follow a
  // Content-Length as they are, without chunked encoding (a plain scrape inflated as it is written).
  std::optional<size_t> streamed_length;
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
// gives every open connection a worker thread of its own, from accept until close (TLS handshake included), so
// idle, slow and stalled clients are bounded in number by the workers and in time by the timeouts. Prefer
// designated initializers.
struct HttpServerOptions {
  // HOST:PORT each (ParseListenAddress); PORT 0 picks a free port. At least one.
  std::vector<std::string> listen_addresses;
  // Threads are cheap here (CivetWeb's workers run on 100 KiB stacks: about 16 KiB of memory each while idle, about
  // 40 KiB once they have served a full page, stack pages and the small blocks glibc caches per thread; compressors
  // come from one shared pool; workers take requests in turn),
  // and a worker is what an idle or slow connection takes away from a scraper: keep far more than any legitimate
  // set of clients (a few Prometheus servers and people) so that a hundred idle connections leave plenty over.
  int num_threads = 256;
  // Bounds the whole request head, however slowly it trickles in (CivetWeb checks the total after every read;
  // measured: a byte every 200 ms is still cut at this deadline). A real client sends its head in one packet; 5 s
  // leaves room for a slow network and frees a worker held by a silent connection soon. While a reply is written
  // it bounds each stall (a client that stops reading is dropped after it), not the whole transfer: a client
  // that reads a trickle keeps its worker, which the worker count has to absorb. With TLS it is also the
  // handshake's deadline: CivetWeb gives up on a handshake that has not finished within it (a client that
  // connects and never says hello, or stalls half-way), so a TLS connection holds a worker at most twice this
  // long before its first request.
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
  // HTTPS on every address with this context; null: plain HTTP.
  std::shared_ptr<TlsServerContext> tls;
  // Added to every answer, CivetWeb's own error pages included (web config http_server_config.headers); a route's
  // own header of the same name wins.
  std::vector<std::pair<std::string, std::string>> response_headers;
  // exporter-toolkit's rate_limit: at most `rate_limit_burst` requests at once, refilled one per
  // `rate_limit_interval`, all clients together; beyond it requests are answered 429. 0: no limit.
  std::chrono::milliseconds rate_limit_interval{0};
  int rate_limit_burst = 0;
};

// A --web.listen-address: HOST:PORT with the port required (0 picks a free one). HOST may be empty (every address
// of both families, as Go exporters read ":PORT"), an IPv4 address (0.0.0.0: every IPv4 address), an IPv6 address
// in brackets ([::]: every IPv6 address), or a host name (resolved once, at start).
Result<HostPort> ParseListenAddress(std::string_view text);

// What this system's sockets can be (a kernel booted with ipv6.disable=1 has IPv4 only).
enum class IpFamilies : uint8_t { kIpv4Only, kIpv4AndIpv6 };

// CivetWeb's listening_ports spelling of a parsed listen address: ":PORT" becomes "+PORT" (one socket for both
// families) where the system has IPv6, and "PORT" (IPv4 only) where it has none.
std::string ToCivetListeningPort(const HostPort& address, IpFamilies families);

class HttpServer {
 public:
  // Starts listening on every address; the error carries CivetWeb's own reason (port in use, bad address...).
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options, std::vector<Route> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port actually bound for the first address (useful with port 0).
  int port() const { return addresses_.front().port.value_or(0); }
  // Each listen address with the port actually bound, in the order given; ":PORT" reads "[::]:PORT" when it
  // listens on both families, "0.0.0.0:PORT" otherwise (what the "Listening on" log lines show).
  const std::vector<HostPort>& addresses() const { return addresses_; }

 private:
  struct Impl;
  HttpServer(std::unique_ptr<Impl> impl, std::vector<HostPort> addresses);
  std::unique_ptr<Impl> impl_;
  std::vector<HostPort> addresses_;
};

}  // namespace ief
