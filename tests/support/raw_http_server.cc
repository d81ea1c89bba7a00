#include "support/raw_http_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ief::testing {

RawHttpServer::RawHttpServer(Handler handler) : handler_(std::move(handler)) {
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
  listen(listener_, 64);
  getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread(&RawHttpServer::AcceptLoop, this);
}

RawHttpServer::~RawHttpServer() {
  stopping_ = true;
  shutdown(listener_, SHUT_RDWR);
  close(listener_);
  acceptor_.join();  // no new connection threads after this
  for (int socket : sockets_) shutdown(socket, SHUT_RDWR);
  for (std::thread& thread : connection_threads_) thread.join();
  for (int socket : sockets_) close(socket);
}

void RawHttpServer::AcceptLoop() {
  while (!stopping_) {
    pollfd ready{listener_, POLLIN, 0};
    if (poll(&ready, 1, 100) <= 0) continue;
    int socket = accept(listener_, nullptr, nullptr);
    if (socket < 0) continue;
    ++connections_;
    sockets_.push_back(socket);
    connection_threads_.emplace_back(&RawHttpServer::Serve, this, socket);
  }
}

void RawHttpServer::Serve(int socket) {
  std::string buffer;
  char chunk[4096];
  while (!stopping_) {
    size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = recv(socket, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    std::string head = buffer.substr(0, end + 4);
    buffer.erase(0, end + 4);  // request bodies are not used by these tests
    ++requests_;
    if (!handler_(socket, head)) {
      shutdown(socket, SHUT_RDWR);
      return;
    }
  }
}

bool RawHttpServer::WriteAll(int socket, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(socket, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string RawHttpServer::Response(int status, const std::string& body, const std::string& extra_headers) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         extra_headers + "\r\n" + body;
}

}  // namespace ief::testing
