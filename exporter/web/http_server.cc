#include "web/http_server.h"

#include <CivetServer.h>
#include <civetweb.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <thread>

#include "util/log.h"

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

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
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

Result<std::string> ToCivetListeningPort(const std::string& listen_address) {
  if (listen_address.find('[') != std::string::npos) {
    return Error(ErrorKind::kInvalidArgument,
                 "IPv6 listen addresses are not supported by this build (CivetWeb without IPv6): use an IPv4 "
                 "address such as 0.0.0.0:10038");
  }
  size_t colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    return Error(ErrorKind::kInvalidArgument, "listen address must be HOST:PORT, got \"" + listen_address + "\"");
  }
  std::string host = listen_address.substr(0, colon);
  std::string port = listen_address.substr(colon + 1);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) || std::stoi(port) > 65535) {
    return Error(ErrorKind::kInvalidArgument, "invalid port in listen address \"" + listen_address + "\"");
  }
  return host.empty() ? port : host + ":" + port;
}

// Dispatches every request to the route table.
struct HttpServer::Impl : public CivetHandler {
  std::vector<Route> routes;
  size_t max_body_bytes = 0;
  std::function<AuthDecision(const ServerRequest&)> authorize;
  std::unique_ptr<CivetServer> server;
  std::string knock_host;  // where a connection reaches the listening socket (to wake it for a stop)

  const Route* Find(const std::string& path) const {
    for (const Route& route : routes) {
      bool prefix = route.path.size() > 1 && route.path.back() == '/';
      if (prefix ? path.starts_with(route.path) : path == route.path) return &route;
    }
    return nullptr;
  }

  bool Handle(CivetServer*, mg_connection* conn) {
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
    return true;
  }

  static ServerRequest RequestHead(const mg_request_info* info) {
    ServerRequest request;
    request.method = info->request_method ? info->request_method : "";
    request.path = info->local_uri ? info->local_uri : "";
    request.query = info->query_string ? info->query_string : "";
    for (int i = 0; i < info->num_headers; ++i) {
      request.headers[Lower(info->http_headers[i].name)] = info->http_headers[i].value;
    }
    return request;
  }

  ServerReply Answer(mg_connection* conn, const mg_request_info* info, ServerRequest& request) const {
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

  // Authorization comes first, so a client without credentials never gets to send a body.
  std::optional<ServerReply> Refusal(const mg_request_info* info, const ServerRequest& request, bool has_body) const {
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

  static void Send(mg_connection* conn, bool head_only, const ServerReply& reply) {
    if (reply.close_connection) {
      // The one call that makes CivetWeb close the connection after the reply (its own plain-text error page).
      mg_send_http_error(conn, reply.status, "%s", reply.body.c_str());
      return;
    }
    if (reply.next_chunk) {
      SendChunked(conn, head_only, reply);
      return;
    }
    size_t length = reply.body.size();
    for (std::string_view piece : reply.body_pieces) length += piece.size();
    std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " " + ReasonPhrase(reply.status) + "\r\n" +
                       "Content-Type: " + reply.content_type + "\r\n" +
                       "Content-Length: " + std::to_string(length) + "\r\n";
    for (const auto& [name, value] : reply.headers) head += name + ": " + value + "\r\n";
    head += "\r\n";
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

  static void SendChunked(mg_connection* conn, bool head_only, const ServerReply& reply) {
    std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " " + ReasonPhrase(reply.status) + "\r\n" +
                       "Content-Type: " + reply.content_type + "\r\nTransfer-Encoding: chunked\r\n";
    for (const auto& [name, value] : reply.headers) head += name + ": " + value + "\r\n";
    head += "\r\n";
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

  bool handleGet(CivetServer* s, mg_connection* c) override { return Handle(s, c); }
  bool handlePost(CivetServer* s, mg_connection* c) override { return Handle(s, c); }
  bool handlePut(CivetServer* s, mg_connection* c) override { return Handle(s, c); }
  bool handleDelete(CivetServer* s, mg_connection* c) override { return Handle(s, c); }
  bool handleHead(CivetServer* s, mg_connection* c) override { return Handle(s, c); }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options, std::vector<Route> routes) {
  Result<std::string> ports = ToCivetListeningPort(options.listen_address);
  if (!ports.ok()) return ports.error();
  auto impl = std::make_unique<Impl>();
  impl->routes = std::move(routes);
  impl->max_body_bytes = options.max_request_body_bytes;
  impl->authorize = options.authorize;
  const std::string host = options.listen_address.substr(0, options.listen_address.rfind(':'));
  impl->knock_host = host.empty() || host == "0.0.0.0" ? "127.0.0.1" : host;
  std::vector<std::string> civet_options = {
      "listening_ports", *ports,
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
  CivetCallbacks callbacks;
  callbacks.log_message = OnCivetLog;
  std::string start_log;
  t_start_log = &start_log;
  try {
    impl->server = std::make_unique<CivetServer>(civet_options, &callbacks);
    t_start_log = nullptr;
  } catch (const CivetException& e) {
    t_start_log = nullptr;
    std::string reason = start_log.empty() ? e.what() : start_log;
    return Error(ErrorKind::kIo, "cannot listen on " + options.listen_address + ": " + reason);
  }
  impl->server->addHandler("/", impl.get());
  std::vector<int> bound = impl->server->getListeningPorts();
  int port = bound.empty() ? 0 : bound.front();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), port));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}

namespace {

// CivetWeb's master thread waits for connections in polls of up to 2 s (SOCKET_TIMEOUT_QUANTUM) and sees a stop
// only when one ends, so a stop took up to 2 s. A connection wakes it: knock (connect and hang up at once) until
// the stop is done. A knock that comes before the stop is an empty connection a worker drops at once.
void KnockUntil(const std::string& host, int port, const std::atomic<bool>& stopped) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) return;
  while (!stopped) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      (void)::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
      ::close(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

HttpServer::~HttpServer() {
  if (!impl_ || !impl_->server) return;
  std::atomic<bool> stopped{false};
  std::thread knocker(KnockUntil, std::cref(impl_->knock_host), port_, std::cref(stopped));
  impl_->server->close();
  stopped = true;
  knocker.join();
}

}  // namespace ief
