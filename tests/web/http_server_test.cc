#include "web/http_server.h"

#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/raw_client.h"
#include "upstream/http/curl_transport.h"

namespace {

ief::HttpResponse Fetch(int port, const std::string& path, const std::string& method = "GET",
                        const std::string& body = "") {
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.method = method;
  request.url = "http://127.0.0.1:" + std::to_string(port) + path;
  request.body = body;
  auto response = transport.Send(request);
  REQUIRE(response.ok());
  return std::move(response).value();
}

ief::Route Text(const std::string& path, const std::string& text) {
  return {path, [text](const ief::ServerRequest&) { return ief::ServerReply{200, "text/plain", text, {}}; }};
}

using ief::testing::GetRequest;
using ief::testing::RawConnection;
using std::chrono::milliseconds;

}  // namespace

TEST_CASE("routes match exactly, or by prefix when they end with a slash") {
  auto server = ief::HttpServer::Start(
      {"127.0.0.1:0", 2, 5000, 1024, nullptr},
      {{"/exact", [](const ief::ServerRequest&) { return ief::ServerReply{200, "text/plain", "exact", {}}; }},
       {"/prefix/", [](const ief::ServerRequest& r) {
          return ief::ServerReply{200, "text/plain", r.path + "?" + r.QueryParam("a").value_or("none"), {}};
        }}});
  REQUIRE(server.ok());
  int port = (*server)->port();
  CHECK(port > 0);
  CHECK(Fetch(port, "/exact").body == "exact");
  CHECK(Fetch(port, "/exact/more").status == 404);
  CHECK(Fetch(port, "/prefix/x/y?a=b%20c").body == "/prefix/x/y?b c");
  CHECK(Fetch(port, "/elsewhere").status == 404);
}

TEST_CASE("request bodies are capped and handler exceptions become 500") {
  auto server = ief::HttpServer::Start(
      {"127.0.0.1:0", 2, 5000, 16, nullptr},
      {{"/echo", [](const ief::ServerRequest& r) { return ief::ServerReply{200, "text/plain", r.body, {}}; }},
       {"/throw", [](const ief::ServerRequest&) -> ief::ServerReply { throw std::runtime_error("boom"); }}});
  REQUIRE(server.ok());
  int port = (*server)->port();
  CHECK(Fetch(port, "/echo", "POST", "small").body == "small");
  CHECK(Fetch(port, "/echo", "POST", std::string(100, 'x')).status == 413);
  CHECK(Fetch(port, "/throw").status == 500);
}

TEST_CASE("listen address problems are explained") {
  CHECK_THAT(ief::HttpServer::Start({"[::1]:0", 1, 1000, 1, nullptr}, {}).error().message, Catch::Contains("IPv6"));
  CHECK_THAT(ief::HttpServer::Start({"localhost", 1, 1000, 1, nullptr}, {}).error().message, Catch::Contains("HOST:PORT"));
  CHECK_THAT(ief::HttpServer::Start({"127.0.0.1:99999", 1, 1000, 1, nullptr}, {}).error().message, Catch::Contains("invalid port"));

  auto first = ief::HttpServer::Start({"127.0.0.1:0", 1, 1000, 1, nullptr}, {});
  REQUIRE(first.ok());
  auto second = ief::HttpServer::Start({"127.0.0.1:" + std::to_string((*first)->port()), 1, 1000, 1, nullptr}, {});
  REQUIRE_FALSE(second.ok());
  CHECK_THAT(second.error().message, Catch::Contains("cannot listen on 127.0.0.1:"));
  CHECK_THAT(second.error().message, Catch::Contains("Address already in use") || Catch::Contains("bind"));
}

TEST_CASE("a Prometheus-style :PORT listens on all interfaces") {
  CHECK(*ief::ToCivetListeningPort(":10038") == "10038");
  CHECK(*ief::ToCivetListeningPort("0.0.0.0:10038") == "0.0.0.0:10038");
}

TEST_CASE("an authorizer guards every route") {
  ief::HttpServerOptions options{"127.0.0.1:0", 2, 5000, 1024, nullptr};
  options.authorize = [](const ief::ServerRequest& r) {
    if (r.Header("authorization") == "busy") return ief::AuthDecision::kBusy;
    return r.Header("authorization") == "let me in" ? ief::AuthDecision::kAllowed : ief::AuthDecision::kRefused;
  };
  auto server = ief::HttpServer::Start(
      options, {{"/x", [](const ief::ServerRequest&) { return ief::ServerReply{200, "text/plain", "x", {}}; }}});
  REQUIRE(server.ok());
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/x";
  CHECK(transport.Send(request)->status == 401);
  request.headers = {{"Authorization", "let me in"}};
  CHECK(transport.Send(request)->status == 200);
  request.headers = {{"Authorization", "busy"}};
  auto busy = transport.Send(request);
  CHECK(busy->status == 429);
  CHECK(busy->retry_after == "1");
}

TEST_CASE("a silent connection and a head that trickles in are both cut at the request timeout") {
  auto server =
      ief::HttpServer::Start({.listen_address = "127.0.0.1:0", .request_timeout_ms = 300}, {Text("/x", "x")});
  REQUIRE(server.ok());
  RawConnection silent((*server)->port());
  RawConnection trickle((*server)->port());
  std::optional<double> trickle_closed;
  std::thread trickler([&] {
    std::string head = GetRequest("/x") + std::string(100, ' ');  // never finishes in time: 3 s of bytes
    auto start = std::chrono::steady_clock::now();
    for (char c : head) {
      if (!trickle.Send(std::string_view(&c, 1))) break;  // closed by the server
      std::this_thread::sleep_for(milliseconds(30));
    }
    trickle_closed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
  std::optional<double> silent_closed = silent.SecondsUntilClosed(milliseconds(5000));
  trickler.join();
  REQUIRE(silent_closed.has_value());
  CHECK(*silent_closed > 0.2);
  CHECK(*silent_closed < 1.5);
  REQUIRE(trickle_closed.has_value());
  CHECK(*trickle_closed < 1.5);  // a byte every 30 ms resets nothing: the whole head has 300 ms
}

TEST_CASE("a kept-alive connection is closed after the keep-alive timeout") {
  auto server = ief::HttpServer::Start(
      {.listen_address = "127.0.0.1:0", .request_timeout_ms = 5000, .keep_alive_timeout_ms = 300}, {Text("/x", "x")});
  REQUIRE(server.ok());
  RawConnection connection((*server)->port());
  REQUIRE(connection.Send(GetRequest("/x")));
  CHECK(connection.ReadResponseStatus(milliseconds(2000)) == 200);
  std::optional<double> closed = connection.SecondsUntilClosed(milliseconds(4000));
  REQUIRE(closed.has_value());
  CHECK(*closed < 1.5);
}

TEST_CASE("idle connections take workers only up to their number") {
  // Three silent connections hold three of four workers for the 3 s request timeout; the fourth serves at once.
  auto server = ief::HttpServer::Start({.listen_address = "127.0.0.1:0", .num_threads = 4, .request_timeout_ms = 3000},
                                       {Text("/x", "x")});
  REQUIRE(server.ok());
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(std::make_unique<RawConnection>((*server)->port()));
  std::this_thread::sleep_for(milliseconds(100));  // let the server hand them to workers
  auto start = std::chrono::steady_clock::now();
  CHECK(Fetch((*server)->port(), "/x").body == "x");
  CHECK(std::chrono::steady_clock::now() - start < milliseconds(1000));
}

TEST_CASE("a request with a body is refused at once and its connection closed when bodies are not taken") {
  auto server = ief::HttpServer::Start({.listen_address = "127.0.0.1:0", .max_request_body_bytes = 0},
                                       {Text("/x", "x")});
  REQUIRE(server.ok());
  for (const char* framing : {"Content-Length: 100000\r\n", "Transfer-Encoding: chunked\r\n"}) {
    INFO(framing);
    RawConnection connection((*server)->port());
    // The body never comes: the server must neither wait for it nor keep the connection to read it later.
    REQUIRE(connection.Send(std::string("POST /x HTTP/1.1\r\nHost: x\r\n") + framing + "\r\nab"));
    CHECK(connection.ReadResponseStatus(milliseconds(2000)) == 413);
    std::optional<double> closed = connection.SecondsUntilClosed(milliseconds(3000));
    REQUIRE(closed.has_value());
    CHECK(*closed < 1.0);
  }
  CHECK(Fetch((*server)->port(), "/x", "POST").status == 200);  // no body: fine
}

TEST_CASE("a refused request with a body has its connection closed, its body unread") {
  ief::HttpServerOptions options{.listen_address = "127.0.0.1:0"};
  options.authorize = [](const ief::ServerRequest&) { return ief::AuthDecision::kRefused; };
  auto server = ief::HttpServer::Start(options, {Text("/x", "x")});
  REQUIRE(server.ok());
  RawConnection connection((*server)->port());
  REQUIRE(connection.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab"));
  CHECK(connection.ReadResponseStatus(milliseconds(2000)) == 401);
  std::optional<double> closed = connection.SecondsUntilClosed(milliseconds(3000));
  REQUIRE(closed.has_value());
  CHECK(*closed < 1.0);
}
