#include "support/raw_client.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <memory>

namespace ief::testing {

RawConnection::RawConnection(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval connect_timeout{5, 0};  // connect() obeys the send timeout: a test never hangs on a full backlog
  if (fd_ >= 0) setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &connect_timeout, sizeof connect_timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

std::unique_ptr<SSL_CTX, SslCtxFree> ClientContext(const TlsClientOptions& tls) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (tls.max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), tls.max_version);
  if (!tls.ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (!tls.cert_file.empty()) {
    SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str());
    SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM);
  }
  return ctx;
}

}  // namespace

RawConnection::RawConnection(int port, const TlsClientOptions& tls) : RawConnection(port) {
  // SSL_write on a connection the server closed would raise SIGPIPE (plain sends use MSG_NOSIGNAL).
  static const bool kSigpipeIgnored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
  (void)kSigpipeIgnored;
  if (fd_ < 0) return;
  timeval handshake_timeout{5, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &handshake_timeout, sizeof handshake_timeout);
  auto ctx = ClientContext(tls);
  SSL* ssl = ctx ? SSL_new(ctx.get()) : nullptr;  // keeps its own reference to the context
  if (ssl == nullptr) {
    Close();
    return;
  }
  SSL_set_fd(ssl, fd_);
  if (tls.stall_after_hello) {
    // The ClientHello is written into memory and sent by hand; the server's answer is never read. (On the socket
    // itself, a fast server could answer before SSL_connect's first read and the handshake would finish.)
    BIO* hello = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, BIO_new(BIO_s_mem()), hello);  // the SSL owns both
    int rc = SSL_connect(ssl);
    char* bytes = nullptr;
    long size = BIO_get_mem_data(hello, &bytes);
    bool hello_sent = rc < 0 && SSL_get_error(ssl, rc) == SSL_ERROR_WANT_READ && size > 0 &&
                      Send(std::string_view(bytes, static_cast<size_t>(size)));
    SSL_free(ssl);
    if (!hello_sent) Close();
  } else if (SSL_connect(ssl) == 1) {
    ssl_ = ssl;
  } else {
    SSL_free(ssl);
    Close();
  }
  ERR_clear_error();
}

void RawConnection::Close() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  ssl_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

RawConnection::~RawConnection() { Close(); }

bool RawConnection::Send(std::string_view bytes) {
  while (fd_ >= 0 && !bytes.empty()) {
    ssize_t n = ssl_ != nullptr ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                                : send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return fd_ >= 0;
}

bool RawConnection::Receive(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (fd_ < 0 || left.count() <= 0) return false;
  const bool buffered = ssl_ != nullptr && SSL_pending(ssl_) > 0;
  pollfd ready{fd_, POLLIN, 0};
  if (!buffered && poll(&ready, 1, static_cast<int>(left.count())) <= 0) return false;
  char chunk[16384];
  ssize_t n = ssl_ != nullptr ? SSL_read(ssl_, chunk, sizeof chunk) : recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::string RawResponse::Header(const std::string& name) const {
  size_t at = head.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  size_t start = at + 4 + name.size();
  return head.substr(start, head.find("\r\n", start) - start);
}

std::optional<RawResponse> RawConnection::ReadResponse(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Receive(deadline)) return std::nullopt;
  }
  RawResponse response;
  response.head = buffer_.substr(0, head_end);
  if (!response.head.starts_with("HTTP/1.") || response.head.size() < 12) return std::nullopt;
  response.status = std::atoi(response.head.c_str() + 9);
  size_t body_length = std::strtoul(response.Header("Content-Length").c_str(), nullptr, 10);
  while (buffer_.size() < head_end + 4 + body_length) {
    if (!Receive(deadline)) return std::nullopt;
  }
  response.body = buffer_.substr(head_end + 4, body_length);
  buffer_.erase(0, head_end + 4 + body_length);
  return response;
}

std::optional<int> RawConnection::ReadResponseStatus(std::chrono::milliseconds timeout) {
  std::optional<RawResponse> response = ReadResponse(timeout);
  if (!response) return std::nullopt;
  return response->status;
}

namespace {

TimedExchange ExchangeOn(std::chrono::steady_clock::time_point start, RawConnection& connection,
                         const std::string& request, std::chrono::milliseconds timeout) {
  TimedExchange exchange;
  if (connection.Send(request)) exchange.response = connection.ReadResponse(timeout);
  exchange.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return exchange;
}

}  // namespace

TimedExchange Exchange(int port, const std::string& request, std::chrono::milliseconds timeout) {
  auto start = std::chrono::steady_clock::now();
  RawConnection connection(port);
  return ExchangeOn(start, connection, request, timeout);
}

TimedExchange Exchange(int port, const std::string& request, std::chrono::milliseconds timeout,
                       const TlsClientOptions& tls) {
  auto start = std::chrono::steady_clock::now();
  RawConnection connection(port, tls);
  return ExchangeOn(start, connection, request, timeout);
}

bool Ipv6LoopbackWorks() {
  int listener = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int client = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  socklen_t length = sizeof address;
  bool works = listener >= 0 && client >= 0 &&
               bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && listen(listener, 1) == 0 &&
               getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
               connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  if (listener >= 0) close(listener);
  if (client >= 0) close(client);
  return works;
}

std::optional<double> RawConnection::SecondsUntilClosed(std::chrono::milliseconds timeout) {
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout;
  while (fd_ >= 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd ready{fd_, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (poll(&ready, 1, static_cast<int>(std::max<long>(left.count(), 0))) <= 0) continue;
    char chunk[16384];
    if (recv(fd_, chunk, sizeof chunk, 0) <= 0) {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  }
  return std::nullopt;
}

std::string GetRequest(const std::string& path, const std::string& authorization) {
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  return request + "\r\n";
}

std::string BasicAuthorization(std::string_view user_and_password) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : user_and_password) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
  while (out.size() % 4 != 0) out += '=';
  return "Basic " + out;
}

}  // namespace ief::testing
