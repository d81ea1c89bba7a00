#include "ief/http1_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

#include "util/result.h"
#include "version.h"

namespace ief {

using Clock = std::chrono::steady_clock;

struct Http1Transport::Target {
  bool tls = false;
  std::string host;         // without brackets
  std::string port;
  std::string host_header;  // as the URL wrote it, for the Host header
  std::string path;         // path and query, at least "/"
  std::string origin;       // scheme://host:port: which connection can carry the request
};

struct Http1Transport::Connection {
  std::string origin;
  int fd = -1;
  SSL* ssl = nullptr;  // null for plain http

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (ssl != nullptr) SSL_free(ssl);  // no close_notify: it could block, and the peer does not need it
    if (fd >= 0) close(fd);
  }
};

namespace {

// The longest a blocking call waits before the deadline and the cancellation are looked at again. Sockets wait
// in the kernel (SO_RCVTIMEO), so a request normally costs one send and one receive system call, not a poll each.
std::chrono::milliseconds WaitSlice(Duration total_timeout) {
  return std::clamp<std::chrono::milliseconds>(total_timeout / 4, std::chrono::milliseconds(10),
                                               std::chrono::milliseconds(200));
}

std::string ErrnoText(int error) { return std::strerror(error); }

// Splits http(s)://host[:port][/path][?query]. User info, fragments and other schemes are refused.
Result<Http1Transport::Target> ParseTarget(const std::string& url) {
  Http1Transport::Target target;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    target.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return Error{"unsupported URL scheme (only http and https)"};
  }
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return Error{"bad URL authority"};
  if (path.find('#') != std::string_view::npos) path = path.substr(0, path.find('#'));
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return Error{"URL contains a space or control byte"};
  }
  std::string_view host = authority;
  std::string_view port = target.tls ? "443" : "80";
  if (authority.front() == '[') {  // [IPv6 literal][:port]
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error{"bad IPv6 address in URL"};
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Error{"bad URL authority"};
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error{"bad host or port in URL"};
  }
  target.host = host;
  target.port = port;
  target.host_header = authority;
  target.path = path.empty() ? "/" : (path.front() == '?' ? "/" + std::string(path) : std::string(path));
  target.origin = std::string(target.tls ? "https://" : "http://") + target.host + ":" + target.port;
  return target;
}

bool HeaderSafe(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// Writes the request head and body into `out` (reused, so steady polling allocates nothing here).
bool SerializeRequest(const Http1Transport::Target& target, const HttpRequest& request, bool accept_compressed,
                      std::string& out) {
  out.clear();
  out.append(request.method).append(" ").append(target.path).append(" HTTP/1.1\r\nHost: ");
  out.append(target.host_header).append("\r\nUser-Agent: ief_exporter/").append(kVersion);
  out.append("\r\nAccept: */*\r\n");
  if (accept_compressed) out.append("Accept-Encoding: gzip, deflate\r\n");
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || !HeaderSafe(name) || !HeaderSafe(value)) return false;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    out.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
  }
  out.append("\r\n").append(request.body);
  return true;
}

SSL_CTX* SharedTlsContext() {
  static SSL_CTX* context = [] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) return ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_default_verify_paths(ctx);  // the system store; SSL_CERT_FILE / SSL_CERT_DIR override it
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // A server that closes without close_notify ends a close-delimited body rather than failing it; a truncated
    // JSON answer still fails to parse.
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    return ctx;
  }();
  return context;
}

std::string TlsErrorText() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "TLS error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// Blocking I/O on one connection with a deadline: every wait is cut into slices, and between slices the
// deadline and the cancellation are checked.
class Channel {
 public:
  enum class Outcome { kOk, kEof, kFailed };

  Channel(Http1Transport::Connection& connection, Clock::time_point deadline, const Cancellation* cancellation)
      : connection_(connection), deadline_(deadline), cancellation_(cancellation) {}

  const std::string& error() const { return error_; }
  // True when the failure was the peer dropping the connection (a stale keep-alive connection looks like this).
  bool dropped() const { return dropped_; }

  Outcome WriteAll(std::string_view data) {
    while (!data.empty()) {
      long written = connection_.ssl != nullptr ? TlsWrite(data) : PlainWrite(data);
      if (written < 0) return Outcome::kFailed;
      data.remove_prefix(static_cast<size_t>(written));
    }
    return Outcome::kOk;
  }

  // Reads some bytes into `buffer`; `read` is set on kOk.
  Outcome Read(char* buffer, size_t size, size_t& read) {
    while (true) {
      long got = connection_.ssl != nullptr ? TlsRead(buffer, size) : PlainRead(buffer, size);
      if (got > 0) {
        read = static_cast<size_t>(got);
        return Outcome::kOk;
      }
      if (got == 0) return Outcome::kEof;
      if (got == kFailedCall) return Outcome::kFailed;
      // kAgain: a wait slice passed with nothing, and there is time left
    }
  }

  // Runs the TLS handshake to completion within the deadline.
  bool Handshake() {
    while (true) {
      errno = 0;  // TlsFailure reads errno: a stale value must not pass for this call's
      int code = SSL_connect(connection_.ssl);
      if (code == 1) return true;
      long failure = TlsFailure(code);
      if (failure == kAgain) continue;
      long verify = SSL_get_verify_result(connection_.ssl);
      if (verify != X509_V_OK) {
        error_ = std::string("TLS certificate not trusted: ") + X509_verify_cert_error_string(verify);
      } else if (failure == 0) {
        error_ = "connection closed during the TLS handshake";
      }
      return false;
    }
  }

 private:
  static constexpr long kAgain = -2;       // the wait slice ended with nothing done
  static constexpr long kFailedCall = -1;  // error_ says why

  bool MayWaitMore() {
    if (cancellation_ != nullptr && cancellation_->IsCancelled()) {
      error_ = "cancelled";
      return false;
    }
    if (Clock::now() >= deadline_) {
      error_ = "Timeout was reached";
      return false;
    }
    return true;
  }

  long SocketFailure(int error) {
    if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) return MayWaitMore() ? kAgain : kFailedCall;
    dropped_ = error == ECONNRESET || error == EPIPE;
    error_ = "connection failed: " + ErrnoText(error);
    return kFailedCall;
  }

  long PlainWrite(std::string_view data) {
    while (true) {
      ssize_t n = send(connection_.fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n >= 0) return n;
      long failure = SocketFailure(errno);
      if (failure != kAgain) return failure;
    }
  }

  long PlainRead(char* buffer, size_t size) {
    ssize_t n = recv(connection_.fd, buffer, size, 0);
    if (n >= 0) return n;
    return SocketFailure(errno);
  }

  long TlsWrite(std::string_view data) {
    while (true) {
      errno = 0;
      int n = SSL_write(connection_.ssl, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 30)));
      if (n > 0) return n;
      long failure = TlsFailure(n);
      if (failure == kAgain) continue;
      if (failure != 0) return failure;
      dropped_ = true;
      error_ = "connection closed by the server";
      return kFailedCall;
    }
  }

  long TlsRead(char* buffer, size_t size) {
    errno = 0;
    int n = SSL_read(connection_.ssl, buffer, static_cast<int>(std::min<size_t>(size, 1 << 30)));
    if (n > 0) return n;
    return TlsFailure(n);
  }

  // 0 for a clean end of stream, kAgain to wait more, kFailedCall otherwise.
  long TlsFailure(int code) {
    int saved_errno = errno;
    int reason = SSL_get_error(connection_.ssl, code);
    switch (reason) {
      case SSL_ERROR_ZERO_RETURN: return 0;
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE: return MayWaitMore() ? kAgain : kFailedCall;
      case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (saved_errno == 0) return 0;  // the peer closed the socket
        return SocketFailure(saved_errno);
      default:
        error_ = "TLS error: " + TlsErrorText();
        return kFailedCall;
    }
  }

  Http1Transport::Connection& connection_;
  Clock::time_point deadline_;
  const Cancellation* cancellation_;
  std::string error_;
  bool dropped_ = false;
};

bool IsIpLiteral(const std::string& host) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), address) == 1 || inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// Connects a non-blocking socket to one address within the deadline, checking the cancellation every slice.
int ConnectOne(const addrinfo& address, Clock::time_point deadline, std::chrono::milliseconds slice,
               const Cancellation* cancellation, std::string& error) {
  int fd = socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, address.ai_protocol);
  if (fd < 0) {
    error = ErrnoText(errno);
    return -1;
  }
  if (connect(fd, address.ai_addr, address.ai_addrlen) == 0) return fd;
  if (errno != EINPROGRESS) error = ErrnoText(errno);
  while (error.empty()) {
    if (cancellation != nullptr && cancellation->IsCancelled()) {
      error = "cancelled";
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      error = "Timeout was reached while connecting";
      break;
    }
    pollfd waiting{fd, POLLOUT, 0};
    if (poll(&waiting, 1, static_cast<int>(std::min(left, slice).count())) <= 0) continue;
    int socket_error = 0;
    socklen_t length = sizeof socket_error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &socket_error, &length);
    if (socket_error == 0) return fd;
    error = ErrnoText(socket_error);
  }
  close(fd);
  return -1;
}

// Blocking from now on, with the wait slice as the kernel's send and receive timeout.
void PrepareConnectedSocket(int fd, std::chrono::milliseconds slice) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  timeval timeout{static_cast<time_t>(slice.count() / 1000), static_cast<suseconds_t>(slice.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

}  // namespace

Http1Transport::Http1Transport(HttpTransportOptions options)
    : options_(options), parser_(options.max_body_bytes), receive_buffer_(64 * 1024) {}

Http1Transport::~Http1Transport() = default;

std::unique_ptr<Http1Transport::Connection> Http1Transport::Connect(const Target& target, Clock::time_point deadline,
                                                                    std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  int resolved = getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &addresses);
  if (resolved != 0) {
    error = "Could not resolve host: " + target.host + " (" + gai_strerror(resolved) + ")";
    return nullptr;
  }
  auto connection = std::make_unique<Connection>();
  connection->origin = target.origin;
  Clock::time_point connect_deadline = std::min(deadline, Clock::now() + options_.connect_timeout);
  const std::chrono::milliseconds slice = WaitSlice(options_.total_timeout);
  std::string why;
  for (addrinfo* a = addresses; a != nullptr && connection->fd < 0; a = a->ai_next) {
    why.clear();
    connection->fd = ConnectOne(*a, connect_deadline, slice, options_.cancellation, why);
    if (options_.cancellation != nullptr && options_.cancellation->IsCancelled()) break;
  }
  freeaddrinfo(addresses);
  if (connection->fd < 0) {
    error = "Could not connect to " + target.host + " port " + target.port + ": " + why;
    return nullptr;
  }
  PrepareConnectedSocket(connection->fd, slice);
  if (target.tls && !StartTls(*connection, target, deadline, error)) return nullptr;
  return connection;
}

bool Http1Transport::StartTls(Connection& connection, const Target& target, Clock::time_point deadline,
                              std::string& error) {
  SSL_CTX* context = SharedTlsContext();
  connection.ssl = context != nullptr ? SSL_new(context) : nullptr;
  if (connection.ssl == nullptr || SSL_set_fd(connection.ssl, connection.fd) != 1) {
    error = "TLS set-up failed: " + TlsErrorText();
    return false;
  }
  if (IsIpLiteral(target.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(connection.ssl), target.host.c_str());
  } else {
    SSL_set_tlsext_host_name(connection.ssl, target.host.c_str());  // SNI
    SSL_set1_host(connection.ssl, target.host.c_str());             // the certificate must name this host
  }
  Channel channel(connection, deadline, options_.cancellation);
  if (channel.Handshake()) return true;
  error = channel.error() + " (" + target.host + ")";
  return false;
}

HttpResponse Http1Transport::Send(const HttpRequest& request) {
  const auto started = Clock::now();
  HttpResponse response;
  Result<Target> target = ParseTarget(request.url);
  if (!target.ok()) {
    response.transport_error = target.error();
    return response;
  }
  if (!SerializeRequest(*target, request, options_.accept_compressed, request_bytes_)) {
    response.transport_error = "request header contains a line break";
    return response;
  }
  const Clock::time_point deadline = started + options_.total_timeout;
  // A kept-alive connection the server closed meanwhile fails before any answer: such a request is sent once
  // more on a fresh connection, if resending cannot do harm.
  const bool may_resend = request.method == "GET";
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = connection_ != nullptr && connection_->origin == target->origin;
    if (!reused) {
      connection_.reset();
      connection_ = Connect(*target, deadline, response.transport_error);
      if (connection_ == nullptr) break;
    }
    bool stale = false;
    if (Exchange(deadline, response, stale)) break;
    connection_.reset();
    if (!(reused && stale && may_resend)) break;
    response.transport_error.clear();
  }
  response.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return response;
}

// Sends the serialized request and reads the answer. On failure `stale` tells whether the connection was
// dropped before any byte of an answer arrived.
bool Http1Transport::Exchange(Clock::time_point deadline, HttpResponse& response, bool& stale) {
  parser_.Reset();
  Channel channel(*connection_, deadline, options_.cancellation);
  if (channel.WriteAll(request_bytes_) != Channel::Outcome::kOk) {
    stale = channel.dropped();
    response.transport_error = channel.error();
    return false;
  }
  Http1ResponseParser::State state = Http1ResponseParser::State::kNeedMore;
  while (state == Http1ResponseParser::State::kNeedMore) {
    size_t read = 0;
    Channel::Outcome outcome = channel.Read(receive_buffer_.data(), receive_buffer_.size(), read);
    if (outcome == Channel::Outcome::kFailed) {
      stale = channel.dropped() && !parser_.started();
      response.transport_error = channel.error();
      return false;
    }
    if (outcome == Channel::Outcome::kEof) {
      stale = !parser_.started();
      state = parser_.FinishAtEof();
    } else {
      state = parser_.Feed(std::string_view(receive_buffer_.data(), read));
    }
  }
  if (state == Http1ResponseParser::State::kError) {
    response.transport_error = parser_.error();
    return false;
  }
  if (!parser_.reusable()) connection_.reset();
  response = std::move(parser_.response());
  return true;
}

}  // namespace ief
