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

ief::HttpResponse FetchUrl(const std::string& url, ief::HttpMethod method = ief::HttpMethod::kGet,
                           const std::string& body = "") {
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.method = method;
  request.url = url;
  request.body = body;
  auto response = transport.Send(request);
  REQUIRE(response.ok());
  return std::move(response).value();
}

ief::HttpResponse Fetch(int port, const std::string& path, ief::HttpMethod method = ief::HttpMethod::kGet,
                        const std::string& body = "") {
  return FetchUrl("http://127.0.0.1:" + std::to_string(port) + path, method, body);
}

ief::Route Text(const std::string& path, const std::string& text) {
  return {path, [text](const ief::ServerRequest&) { return ief::ServerReply{200, "text/plain", text, {}}; }};
}

using ief::testing::Exchange;
using ief::testing::GetRequest;
using ief::testing::TimedExchange;
using ief::testing::RawConnection;
using std::chrono::milliseconds;

}  // namespace

TEST_CASE("routes match exactly, or by prefix when they end with a slash") {
  auto server = ief::HttpServer::Start(
      {{"127.0.0.1:0"}, 2, 5000, 1024, nullptr},
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
      {{"127.0.0.1:0"}, 2, 5000, 16, nullptr},
      {{"/echo", [](const ief::ServerRequest& r) { return ief::ServerReply{200, "text/plain", r.body, {}}; }},
       {"/throw", [](const ief::ServerRequest&) -> ief::ServerReply { throw std::runtime_error("boom"); }}});
  REQUIRE(server.ok());
  int port = (*server)->port();
  CHECK(Fetch(port, "/echo", ief::HttpMethod::kPost, "small").body == "small");
  CHECK(Fetch(port, "/echo", ief::HttpMethod::kPost, std::string(100, 'x')).status == 413);
  CHECK(Fetch(port, "/throw").status == 500);
}

TEST_CASE("listen addresses are HOST:PORT with an IPv4 address, a bracketed IPv6 address, a name or nothing") {
  struct Case {
    const char* text;
    const char* host;
    int port;
  };
  for (const Case& c : {Case{":10038", "", 10038}, Case{"0.0.0.0:10038", "0.0.0.0", 10038},
                        Case{"[::]:10038", "[::]", 10038}, Case{"[::1]:0", "[::1]", 0},
                        Case{"[fe80::1%eth0]:1", "[fe80::1%eth0]", 1}, Case{"localhost:9", "localhost", 9}}) {
    INFO(c.text);
    ief::Result<ief::HostPort> address = ief::ParseListenAddress(c.text);
    REQUIRE(address.ok());
    CHECK(address->host == c.host);
    CHECK(address->port == c.port);
    CHECK(address->ToString() == c.text);
  }
  struct Refusal {
    const char* text;
    const char* reason;
  };
  for (const Refusal& r : {Refusal{"localhost", "must be HOST:PORT"}, Refusal{"[::1]", "must be HOST:PORT"},
                           Refusal{"127.0.0.1:99999", "has an invalid port"}, Refusal{":", "has an invalid port"},
                           Refusal{"::1:80", "IPv6 address without brackets"},
                           Refusal{"[::1]80", "text after the IPv6 address"}, Refusal{"[::1:80", "unterminated"},
                           // CivetWeb's listening_ports is a comma-separated list: nothing may add an item to it.
                           Refusal{"127.0.0.1:80,0.0.0.0:81", "invalid host"},
                           Refusal{"a,b:80", "invalid host"}, Refusal{"a b:80", "invalid host"}}) {
    INFO(r.text);
    ief::Result<ief::HostPort> address = ief::ParseListenAddress(r.text);
    REQUIRE_FALSE(address.ok());
    CHECK_THAT(address.error().message, Catch::Contains(r.reason));
  }
}

TEST_CASE("a Prometheus-style :PORT is one socket for both families where the system has IPv6") {
  using ief::IpFamilies;
  CHECK(ief::ToCivetListeningPort(*ief::ParseListenAddress(":10038"), IpFamilies::kIpv4AndIpv6) == "+10038");
  CHECK(ief::ToCivetListeningPort(*ief::ParseListenAddress(":10038"), IpFamilies::kIpv4Only) == "10038");
  CHECK(ief::ToCivetListeningPort(*ief::ParseListenAddress("0.0.0.0:10038"), IpFamilies::kIpv4AndIpv6) ==
        "0.0.0.0:10038");
  CHECK(ief::ToCivetListeningPort(*ief::ParseListenAddress("[::1]:10038"), IpFamilies::kIpv4AndIpv6) ==
        "[::1]:10038");
}

TEST_CASE("one server listens on several addresses, IPv4 and IPv6, and reports each port it bound") {
  REQUIRE(ief::testing::Ipv6LoopbackWorks());  // fails loudly where IPv6 is missing, rather than passing
  auto server = ief::HttpServer::Start({.listen_addresses = {"127.0.0.1:0", "[::1]:0", ":0"}}, {Text("/x", "x")});
  REQUIRE(server.ok());
  const auto& addresses = (*server)->addresses();
  REQUIRE(addresses.size() == 3);
  CHECK(addresses[0].host == "127.0.0.1");
  CHECK(addresses[1].host == "[::1]");
  CHECK(addresses[2].host == "[::]");  // both families
  for (const ief::HostPort& address : addresses) CHECK(address.port > 0);
  CHECK((*server)->port() == addresses[0].port);
  CHECK(FetchUrl("http://127.0.0.1:" + std::to_string(*addresses[0].port) + "/x").body == "x");
  CHECK(FetchUrl("http://[::1]:" + std::to_string(*addresses[1].port) + "/x").body == "x");
  CHECK(FetchUrl("http://[::1]:" + std::to_string(*addresses[2].port) + "/x").body == "x");
  CHECK(FetchUrl("http://127.0.0.1:" + std::to_string(*addresses[2].port) + "/x").body == "x");
  // [::1] is IPv6 only: its port is not open on 127.0.0.1.
  CHECK_FALSE(ief::testing::RawConnection(*addresses[1].port).connected());
}

TEST_CASE("listen address problems are explained") {
  auto start = [](const std::string& address) {
    return ief::HttpServer::Start({.listen_addresses = {address}, .num_threads = 1}, {});
  };
  CHECK_THAT(start("localhost").error().message, Catch::Contains("HOST:PORT"));
  CHECK_THAT(start("127.0.0.1:99999").error().message, Catch::Contains("invalid port"));
  CHECK_THAT(ief::HttpServer::Start({}, {}).error().message, Catch::Contains("no listen address"));

  auto first = start("127.0.0.1:0");
  REQUIRE(first.ok());
  auto second = start("127.0.0.1:" + std::to_string((*first)->port()));
  REQUIRE_FALSE(second.ok());
  CHECK_THAT(second.error().message, Catch::Contains("cannot listen on 127.0.0.1:"));
  CHECK_THAT(second.error().message, Catch::Contains("Address already in use") || Catch::Contains("bind"));
  // All or nothing: a second address that fails leaves nothing listening on the first.
  int free_port = (*start("127.0.0.1:0"))->port();
  auto half = ief::HttpServer::Start(
      {.listen_addresses = {"127.0.0.1:" + std::to_string(free_port), "127.0.0.1:" + std::to_string((*first)->port())}},
      {});
  REQUIRE_FALSE(half.ok());
  CHECK_FALSE(ief::testing::RawConnection(free_port).connected());
}

TEST_CASE("an authorizer guards every route") {
  ief::HttpServerOptions options{{"127.0.0.1:0"}, 2, 5000, 1024, nullptr};
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
      ief::HttpServer::Start({.listen_addresses = {"127.0.0.1:0"}, .request_timeout_ms = 300}, {Text("/x", "x")});
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
      {.listen_addresses = {"127.0.0.1:0"}, .request_timeout_ms = 5000, .keep_alive_timeout_ms = 300}, {Text("/x", "x")});
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
  auto server = ief::HttpServer::Start({.listen_addresses = {"127.0.0.1:0"}, .num_threads = 4, .request_timeout_ms = 3000},
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
  auto server = ief::HttpServer::Start({.listen_addresses = {"127.0.0.1:0"}, .max_request_body_bytes = 0},
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
  CHECK(Fetch((*server)->port(), "/x", ief::HttpMethod::kPost).status == 200);  // no body: fine
}

TEST_CASE("a refused request with a body has its connection closed, its body unread") {
  ief::HttpServerOptions options{.listen_addresses = {"127.0.0.1:0"}};
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

TEST_CASE("configured headers are on every answer, CivetWeb's own error pages included, unless a route sets its own") {
  ief::HttpServerOptions options{.listen_addresses = {"127.0.0.1:0"}, .max_request_body_bytes = 0};
  options.response_headers = {{"X-Frame-Options", "deny"}, {"Content-Security-Policy", "default-src 'none'"}};
  auto server = ief::HttpServer::Start(
      options, {Text("/x", "x"), {"/own", [](const ief::ServerRequest&) {
                                    return ief::ServerReply{200, "text/html", "<p>", {{"content-security-policy", "img-src 'self'"}}};
                                  }}});
  REQUIRE(server.ok());
  const int port = (*server)->port();
  for (const char* path : {"/x", "/missing"}) {
    INFO(path);
    TimedExchange answer = Exchange(port, GetRequest(path), milliseconds(2000));
    REQUIRE(answer.response.has_value());
    CHECK(answer.response->Header("X-Frame-Options") == "deny");
    CHECK(answer.response->Header("Content-Security-Policy") == "default-src 'none'");
  }
  TimedExchange own = Exchange(port, GetRequest("/own"), milliseconds(2000));
  REQUIRE(own.response.has_value());
  CHECK(own.response->Header("content-security-policy") == "img-src 'self'");
  CHECK(own.response->Header("Content-Security-Policy").empty());  // not sent twice
  CHECK(own.response->Header("X-Frame-Options") == "deny");
  // A refusal CivetWeb writes itself (a body on a server that takes none, the connection then closed).
  TimedExchange refused =
      Exchange(port, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", milliseconds(2000));
  REQUIRE(refused.response.has_value());
  CHECK(refused.response->status == 413);
  CHECK(refused.response->Header("X-Frame-Options") == "deny");
}

TEST_CASE("rate_limit answers 429 beyond its burst, before any password is checked") {
  int checks = 0;
  ief::HttpServerOptions options{.listen_addresses = {"127.0.0.1:0"}};
  options.rate_limit_interval = std::chrono::hours(1);
  options.rate_limit_burst = 2;
  options.authorize = [&checks](const ief::ServerRequest&) {
    ++checks;
    return ief::AuthDecision::kAllowed;
  };
  auto server = ief::HttpServer::Start(options, {Text("/x", "x")});
  REQUIRE(server.ok());
  CHECK(Fetch((*server)->port(), "/x").status == 200);
  CHECK(Fetch((*server)->port(), "/x").status == 200);
  CHECK(Fetch((*server)->port(), "/x").status == 429);
  CHECK(checks == 2);
}
