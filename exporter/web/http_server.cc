#include "web/http_server.h"

#include <civetweb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>

#include "util/log.h"
#include "util/mutex.h"
#include "util/text.h"

namespace ief {
namespace {

// CivetWeb reports start-up failures only through its log callback. While a server starts, the starting thread
// points this at a string that captures them for the error message; at other times they go to the debug log.
thread_local std::string* t_start_log = nullptr;

int OnCivetLog(const mg_connection*, const char* message) {
  if (t_start_log != nullptr) {
    std::string_view text(message);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    if (!t_start_log->empty()) *t_start_log += "; ";
    *t_start_log += text;
  } else {
    log::Debug("CivetWeb", {{"detail", message}});
  }
  return 1;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

ServerReply PlainReply(int status, std::string text, std::vector<std::pair<std::string, std::string>> headers = {}) {
  return ServerReply{status, "text/plain; charset=utf-8", std::move(text), std::move(headers)};
}

}  // namespace

std::string ServerRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::optional<std::string> ServerRequest::QueryParam(const std::string& name) const {
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string_view pair(query.data() + start, end - start);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {
      std::string raw(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
      std::string decoded(raw.size() + 1, '\0');
      int n = mg_url_decode(raw.c_str(), static_cast<int>(raw.size()), decoded.data(),
                            static_cast<int>(decoded.size()), 1);
      decoded.resize(n < 0 ? 0 : static_cast<size_t>(n));
      return decoded;
    }
    start = end + 1;
  }
  return std::nullopt;
}

Result<HostPort> ParseListenAddress(std::string_view text) {
  Result<HostPort> address = SplitHostPort(text);
  if (!address.ok()) {
    return Error(ErrorKind::kInvalidArgument, "listen address \"" + std::string(text) + "\" " + address.error().message);
  }
  if (!address->port) {
    return Error(ErrorKind::kInvalidArgument, "listen address must be HOST:PORT, got \"" + std::string(text) + "\"");
  }
  return address;
}

std::string ToCivetListeningPort(const HostPort& address, IpFamilies families) {
  std::string port = std::to_string(address.port.value_or(0));
  if (!address.host.empty()) return address.host + ":" + port;
  return families == IpFamilies::kIpv4AndIpv6 ? "+" + port : port;
}

namespace {

// Whether this system can make IPv6 sockets at all (a kernel booted with ipv6.disable=1 cannot).
IpFamilies SystemIpFamilies() {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return IpFamilies::kIpv4Only;
  ::close(fd);
  return IpFamilies::kIpv4AndIpv6;
}

// exporter-toolkit's rate_limit: Go's rate.Limiter with a burst, refilled one token per interval.
class TokenBucket {
 public:
  TokenBucket(std::chrono::milliseconds interval, int burst)
      : interval_(interval), burst_(burst), tokens_(burst), last_(std::chrono::steady_clock::now()) {}
  bool enabled() const { return interval_.count() > 0; }
  bool TryTake() {
    MutexLock lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    tokens_ = std::min<double>(burst_, tokens_ + std::chrono::duration<double>(now - last_) / interval_);
    last_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  const std::chrono::milliseconds interval_;
  const int burst_;
  Mutex mutex_;
  double tokens_ GUARDED_BY(mutex_);
  std::chrono::steady_clock::time_point last_ GUARDED_BY(mutex_);
};

// How a bound listener reads in the log: the address as given with the port actually bound; ":PORT" shows the
// families it listens on.
HostPort Bound(const HostPort& requested, const mg_server_port& bound) {
  HostPort address = requested;
  address.port = bound.port;
  if (address.host.empty()) address.host = bound.protocol == 1 ? "0.0.0.0" : "[::]";
  return address;
}

}  // namespace

// Dispatches every request to the route table.
struct HttpServer::Impl {
  explicit Impl(const HttpServerOptions& options, std::vector<Route> route_table)
      : routes(std::move(route_table)),
        max_body_bytes(options.max_request_body_bytes),
        authorize(options.authorize),
        response_headers(options.response_headers),
        rate_limit(options.rate_limit_interval, options.rate_limit_burst),
        tls(options.tls) {}
  ~Impl() {
    if (context != nullptr) mg_stop(context);  // joins every worker: no handler runs after this
  }

  const std::vector<Route> routes;
  const size_t max_body_bytes;
  const std::function<AuthDecision(const ServerRequest&)> authorize;
  const std::vector<std::pair<std::string, std::string>> response_headers;
  TokenBucket rate_limit;
  const std::shared_ptr<TlsServerContext> tls;  // outlives the CivetWeb context that serves with it
  mg_context* context = nullptr;

  static int OnRequest(mg_connection* conn, void* self) { return static_cast<Impl*>(self)->Handle(conn); }

  // CivetWeb serves with our SSL_CTX as it is (it neither configures nor frees it).
  static int ProvideSslContext(void** ssl_ctx, void* self) {
    if (*ssl_ctx == nullptr) *ssl_ctx = static_cast<Impl*>(self)->tls->native();
    return 1;
  }

  const Route* Find(const std::string& path) const {
    for (const Route& route : routes) {
      bool prefix = route.path.size() > 1 && route.path.back() == '/';
      if (prefix ? path.starts_with(route.path) : path == route.path) return &route;
    }
    return nullptr;
  }

  // The status answered (CivetWeb keeps it for its logs).
  int Handle(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    ServerRequest request = RequestHead(info);
    ServerReply reply;
    try {
      reply = Answer(conn, info, request);
    } catch (const std::exception& e) {
      log::Error("HTTP handler failed", {{"path", request.path}, {"err", e.what()}});
      reply = PlainReply(500, "internal error\n");
    }
    Send(conn, request.method == "HEAD", reply);
    return reply.status;
  }

  static ServerRequest RequestHead(const mg_request_info* info) {
    ServerRequest request;
    request.method = info->request_method ? info->request_method : "";
    request.path = info->local_uri ? info->local_uri : "";
    request.query = info->query_string ? info->query_string : "";
    for (int i = 0; i < info->num_headers; ++i) {
      request.headers[ToLowerAscii(info->http_headers[i].name)] = info->http_headers[i].value;
    }
    return request;
  }

  ServerReply Answer(mg_connection* conn, const mg_request_info* info, ServerRequest& request) {
    const bool has_body = info->content_length > 0 || !request.Header("transfer-encoding").empty();
    if (std::optional<ServerReply> refusal = Refusal(info, request, has_body)) {
      // After a reply CivetWeb reads (and waits for) whatever is left of the body, one slow byte after another if
      // the client wants: closing the connection is what stops that.
      refusal->close_connection = has_body;
      return *std::move(refusal);
    }
    if (has_body && !ReadBody(conn, request.body)) return TooLarge();
    const Route* route = Find(request.path);
    if (route == nullptr) return PlainReply(404, "404 page not found\n");
    return route->handler(request);
  }

  // The rate limit and authorization come first, so a client without credentials never gets to send a body.
  std::optional<ServerReply> Refusal(const mg_request_info* info, const ServerRequest& request, bool has_body) {
    if (rate_limit.enabled() && !rate_limit.TryTake()) return PlainReply(429, "Too Many Requests\n");
    AuthDecision decision = authorize ? authorize(request) : AuthDecision::kAllowed;
    if (decision == AuthDecision::kRefused) {
      return PlainReply(401, "Unauthorized\n",
                        {{"WWW-Authenticate", "Basic realm=\"ief_exporter\", charset=\"UTF-8\""}});
    }
    if (decision == AuthDecision::kBusy) {
      return PlainReply(429, "too many password checks in progress, try again\n", {{"Retry-After", "1"}});
    }
    if (has_body && (max_body_bytes == 0 || info->content_length > static_cast<long long>(max_body_bytes))) {
      return TooLarge();
    }
    return std::nullopt;
  }

  static ServerReply TooLarge() {
    ServerReply reply = PlainReply(413, "request body too large\n");
    reply.close_connection = true;
    return reply;
  }

  // False when the body outgrows the cap (chunked bodies announce no length).
  bool ReadBody(mg_connection* conn, std::string& body) const {
    char buffer[8192];
    int n;
    while ((n = mg_read(conn, buffer, sizeof buffer)) > 0) {
      body.append(buffer, static_cast<size_t>(n));
      if (body.size() > max_body_bytes) return false;
    }
    return true;
  }

  // The status line and headers: the reply's own, then the configured ones it does not set itself.
  std::string Head(const ServerReply& reply, const std::string& framing) const {
    std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " " + ReasonPhrase(reply.status) + "\r\n" +
                       "Content-Type: " + reply.content_type + "\r\n" + framing + "\r\n";
    for (const auto& [name, value] : reply.headers) head += name + ": " + value + "\r\n";
    for (const auto& header : response_headers) {  // not a structured binding: clang 14 cannot capture one
      bool overridden = std::any_of(reply.headers.begin(), reply.headers.end(),
                                    [&](const auto& own) { return EqualsIgnoringCase(own.first, header.first); });
      if (!overridden) head += header.first + ": " + header.second + "\r\n";
    }
    return head + "\r\n";
  }

  void Send(mg_connection* conn, bool head_only, const ServerReply& reply) const {
    if (reply.close_connection) {
      // The one call that makes CivetWeb close the connection after the reply (its own plain-text error page).
      mg_send_http_error(conn, reply.status, "%s", reply.body.c_str());
      return;
    }
    if (reply.next_chunk && reply.streamed_length) {
      SendStreamed(conn, head_only, reply);
      return;
    }
    if (reply.next_chunk) {
      SendChunked(conn, head_only, reply);
      return;
    }
    size_t length = reply.body.size();
    for (std::string_view piece : reply.body_pieces) length += piece.size();
    std::string head = Head(reply, "Content-Length: " + std::to_string(length));
    mg_write(conn, head.data(), head.size());
    if (head_only) return;
    if (!reply.body.empty()) mg_write(conn, reply.body.data(), reply.body.size());
    WritePieces(conn, reply.body_pieces);
  }

  static bool WriteChunk(mg_connection* conn, std::string_view data) {
    char size[32];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return mg_write(conn, size, static_cast<size_t>(n)) > 0 && mg_write(conn, data.data(), data.size()) > 0 &&
           mg_write(conn, "\r\n", 2) > 0;
  }

  void SendChunked(mg_connection* conn, bool head_only, const ServerReply& reply) const {
    std::string head = Head(reply, "Transfer-Encoding: chunked");
    if (mg_write(conn, head.data(), head.size()) <= 0 || head_only) return;
    if (!reply.body.empty() && !WriteChunk(conn, reply.body)) return;
    std::string chunk;
    bool more = true;
    while (more) {
      chunk.clear();
      more = reply.next_chunk(chunk);
      if (!chunk.empty() && !WriteChunk(conn, chunk)) return;  // the client went away
    }
    mg_write(conn, "0\r\n\r\n", 5);
  }

  // A body of known length, written as it is made. Should it end short (not expected), the client sees a truncated
  // body, never a complete-looking wrong one.
  void SendStreamed(mg_connection* conn, bool head_only, const ServerReply& reply) const {
    std::string head = Head(reply, "Content-Length: " + std::to_string(reply.body.size() + *reply.streamed_length));
    if (mg_write(conn, head.data(), head.size()) <= 0 || head_only) return;
    if (!reply.body.empty() && mg_write(conn, reply.body.data(), reply.body.size()) <= 0) return;
    std::string chunk;
    bool more = true;
    while (more) {
      chunk.clear();
      more = reply.next_chunk(chunk);
      if (!chunk.empty() && mg_write(conn, chunk.data(), chunk.size()) <= 0) return;  // the client went away
    }
  }

  // Small pieces are gathered into a buffer so a scrape of thousands of pieces takes few system calls; large ones
  // go out directly.
  static void WritePieces(mg_connection* conn, const std::vector<std::string_view>& pieces) {
    constexpr size_t kBufferBytes = 256 * 1024;
    std::string buffer;
    buffer.reserve(kBufferBytes);
    for (std::string_view piece : pieces) {
      if (buffer.size() + piece.size() > kBufferBytes && !buffer.empty()) {
        mg_write(conn, buffer.data(), buffer.size());
        buffer.clear();
      }
      if (piece.size() >= kBufferBytes) {
        mg_write(conn, piece.data(), piece.size());
      } else {
        buffer += piece;
      }
    }
    if (!buffer.empty()) mg_write(conn, buffer.data(), buffer.size());
  }
};

namespace {

// CivetWeb's options for these settings; its own error pages carry the configured headers too.
std::vector<std::string> CivetOptions(const HttpServerOptions& options, const std::string& listening_ports) {
  std::vector<std::string> civet = {
      "listening_ports", listening_ports,
      "num_threads", std::to_string(options.num_threads),
      "request_timeout_ms", std::to_string(options.request_timeout_ms),
      "keep_alive_timeout_ms", std::to_string(options.keep_alive_timeout_ms),
      "connection_queue", std::to_string(options.connection_queue),
      "listen_backlog", std::to_string(options.listen_backlog),
      "max_request_size", "16384",  // request line + headers; bodies are capped separately
      "enable_keep_alive", "yes",
      // Replies go out as a header write and a body write: without TCP_NODELAY, Nagle and delayed ACKs stall
      // every keep-alive request by ~40 ms.
      "tcp_nodelay", "1",
  };
  std::string lines;
  for (const auto& [name, value] : options.response_headers) lines += name + ": " + value + "\r\n";
  if (!lines.empty()) civet.insert(civet.end(), {"additional_header", lines});
  return civet;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options, std::vector<Route> routes) {
  if (options.listen_addresses.empty()) return Error(ErrorKind::kInvalidArgument, "no listen address");
  std::vector<HostPort> requested;
  std::string ports;
  const IpFamilies families = SystemIpFamilies();
  for (const std::string& text : options.listen_addresses) {
    Result<HostPort> address = ParseListenAddress(text);
    if (!address.ok()) return address.error();
    ports += (ports.empty() ? "" : ",") + ToCivetListeningPort(*address, families) + (options.tls ? "s" : "");
    requested.push_back(*address);
  }
  // OpenSSL and IPv6 set up once for the process; later calls only count.
  static const unsigned kFeatures = mg_init_library(MG_FEATURES_TLS | MG_FEATURES_IPV6);
  if (options.tls && (kFeatures & MG_FEATURES_TLS) == 0) {
    return Error(ErrorKind::kIo, "CivetWeb could not initialise TLS");
  }

  auto impl = std::make_unique<Impl>(options, std::move(routes));
  std::vector<std::string> civet_options = CivetOptions(options, ports);
  std::vector<const char*> option_pointers;
  for (const std::string& option : civet_options) option_pointers.push_back(option.c_str());
  option_pointers.push_back(nullptr);
  mg_callbacks callbacks{};
  callbacks.log_message = OnCivetLog;
  if (options.tls) callbacks.external_ssl_ctx = &Impl::ProvideSslContext;
  mg_init_data init{&callbacks, impl.get(), option_pointers.data()};
  char error_text[256] = "";
  mg_error_data error{nullptr, error_text, sizeof error_text};

  std::string start_log;
  t_start_log = &start_log;
  impl->context = mg_start2(&init, &error);
  t_start_log = nullptr;
  std::string joined;
  for (const std::string& text : options.listen_addresses) joined += (joined.empty() ? "" : ", ") + text;
  if (impl->context == nullptr) {
    return Error(ErrorKind::kIo, "cannot listen on " + joined + ": " + (start_log.empty() ? error_text : start_log));
  }
  mg_set_request_handler(impl->context, "/", &Impl::OnRequest, impl.get());

  std::vector<mg_server_port> bound(requested.size());
  int count = mg_get_server_ports(impl->context, static_cast<int>(bound.size()), bound.data());
  if (count != static_cast<int>(requested.size())) {
    return Error(ErrorKind::kIo, "cannot listen on " + joined + ": CivetWeb reports " + std::to_string(count) +
                                     " listeners for " + std::to_string(requested.size()) + " addresses");
  }
  std::vector<HostPort> addresses;
  for (size_t i = 0; i < requested.size(); ++i) addresses.push_back(Bound(requested[i], bound[i]));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), std::move(addresses)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl, std::vector<HostPort> addresses)
    : impl_(std::move(impl)), addresses_(std::move(addresses)) {}

// CivetWeb's threads see a stop when their poll ends: at most SOCKET_TIMEOUT_QUANTUM (third_party/civetweb sets it
// to 200 ms), so this returns within about that, unless a handler is still running.
HttpServer::~HttpServer() {
  if (!impl_ || impl_->context == nullptr) return;
  mg_stop(impl_->context);
  impl_->context = nullptr;
}

}  // namespace ief
