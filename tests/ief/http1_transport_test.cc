// The builtin client's own promises, against a raw socket server that shows what happens on the wire:
// connections kept alive, a kept-alive connection the server dropped, cancellation.
#include "ief/http1_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

namespace {

// Accepts connections on 127.0.0.1:0 one at a time and answers every request (read up to its blank line) with
// `answer`. With `close_after_answer`, it drops the connection after each answer without saying so, as a server
// does when an idle keep-alive connection times out.
class ScriptedServer {
 public:
  ScriptedServer(std::string answer, bool close_after_answer)
      : answer_(std::move(answer)), close_after_answer_(close_after_answer) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(listener_, 8) == 0);
    socklen_t length = sizeof address;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v2/p/productmgr/jobs/j"; }
  int connections() const { return connections_; }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (true) {
      int client = accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      ++connections_;
      std::string received;
      char buffer[4096];
      while (true) {
        ssize_t n = recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        received.append(buffer, static_cast<size_t>(n));
        size_t end = received.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        received.erase(0, end + 4);
        ++requests_;
        send(client, answer_.data(), answer_.size(), MSG_NOSIGNAL);
        if (close_after_answer_) break;
      }
      close(client);
    }
  }

  std::string answer_;
  bool close_after_answer_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"job_id\":\"j\"}";

}  // namespace

TEST_CASE("the builtin client keeps one connection alive across requests") {
  ScriptedServer server(kOk, false);
  ief::Http1Transport transport({});
  ief::HttpRequest request;
  request.url = server.Url();
  for (int i = 0; i < 5; ++i) {
    auto response = transport.Send(request);
    REQUIRE(response.transport_ok);
    CHECK(response.body == "{\"job_id\":\"j\"}");
  }
  CHECK(server.requests() == 5);
  CHECK(server.connections() == 1);
}

TEST_CASE("a kept-alive connection the server dropped is replaced, and the GET sent again") {
  ScriptedServer server(kOk, true);
  ief::Http1Transport transport({});
  ief::HttpRequest request;
  request.url = server.Url();
  for (int i = 0; i < 4; ++i) {
    auto response = transport.Send(request);
    INFO(response.transport_error);
    REQUIRE(response.transport_ok);
    CHECK(response.status == 200);
  }
  CHECK(server.requests() == 4);
  CHECK(server.connections() == 4);
}

TEST_CASE("an answer that says Connection: close is honoured") {
  ScriptedServer server("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false);
  ief::Http1Transport transport({});
  ief::HttpRequest request;
  request.url = server.Url();
  REQUIRE(transport.Send(request).transport_ok);
  REQUIRE(transport.Send(request).transport_ok);
  CHECK(server.connections() == 2);
}

TEST_CASE("a malformed answer is a transport error that names the problem") {
  ScriptedServer server("HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n", false);
  ief::Http1Transport transport({});
  ief::HttpRequest request;
  request.url = server.Url();
  auto response = transport.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK(response.transport_error == "malformed HTTP response: bad Content-Length");
  CHECK(response.body.empty());
}

TEST_CASE("a cancellation aborts a request in flight") {
  ScriptedServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it", false);
  ief::Cancellation cancellation;
  ief::HttpTransportOptions options;
  options.total_timeout = std::chrono::seconds(30);
  options.cancellation = &cancellation;
  ief::Http1Transport transport(options);
  ief::HttpRequest request;
  request.url = server.Url();
  std::thread canceller([&] {
    while (server.requests() == 0) std::this_thread::yield();
    cancellation.Cancel();
  });
  auto response = transport.Send(request);
  canceller.join();
  CHECK_FALSE(response.transport_ok);
  CHECK(response.transport_error == "cancelled");
  CHECK(response.seconds < 5);
}

TEST_CASE("headers that would split the request are refused before anything is sent") {
  ScriptedServer server(kOk, false);
  ief::Http1Transport transport({});
  ief::HttpRequest request;
  request.url = server.Url();
  request.headers = {{"X-Auth-Token", "tok\r\nX-Injected: 1"}};
  auto response = transport.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK(server.requests() == 0);
}

TEST_CASE("URLs the builtin client cannot use are refused") {
  ief::Http1Transport transport({});
  for (const char* url : {"ftp://example.com/", "http://user@example.com/", "http://example.com:port/",
                          "http://[::1/", "http:///path", "http://example.com/a b"}) {
    INFO(url);
    ief::HttpRequest request;
    request.url = url;
    auto response = transport.Send(request);
    CHECK_FALSE(response.transport_ok);
    CHECK_FALSE(response.transport_error.empty());
  }
}
