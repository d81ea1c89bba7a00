#include "support/raw_client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

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

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::Send(std::string_view bytes) {
  while (fd_ >= 0 && !bytes.empty()) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return fd_ >= 0;
}

bool RawConnection::Receive(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (fd_ < 0 || left.count() <= 0) return false;
  pollfd ready{fd_, POLLIN, 0};
  if (poll(&ready, 1, static_cast<int>(left.count())) <= 0) return false;
  char chunk[16384];
  ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
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

TimedExchange Exchange(int port, const std::string& request, std::chrono::milliseconds timeout) {
  auto start = std::chrono::steady_clock::now();
  TimedExchange exchange;
  RawConnection connection(port);
  if (connection.Send(request)) exchange.response = connection.ReadResponse(timeout);
  exchange.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return exchange;
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
