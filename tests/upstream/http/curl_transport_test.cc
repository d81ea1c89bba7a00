// libcurl as the exporter configures it, against real local peers: CivetWeb for well-behaved answers, a raw
// socket server for the misbehaving ones.
#include "upstream/http/curl_transport.h"

#include <catch2/catch.hpp>
#include <thread>

#include "support/process.h"
#include "support/raw_http_server.h"
#include "util/gzip.h"
#include "web/http_server.h"

using namespace std::chrono_literals;
using ief::testing::RawHttpServer;

namespace {

std::unique_ptr<ief::HttpServer> StartServer(std::vector<ief::Route> routes) {
  auto server = ief::HttpServer::Start({{"127.0.0.1:0"}, 4, 10000, 1 << 20, nullptr}, std::move(routes));
  REQUIRE(server.ok());
  return std::move(server).value();
}

std::string Url(const ief::HttpServer& server, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

ief::HttpRequest Get(const std::string& url, ief::Duration timeout = 10s) {
  ief::HttpRequest request;
  request.url = url;
  request.timeout = timeout;
  return request;
}

}  // namespace

TEST_CASE("the transport sends headers and reads status, body, request id and Retry-After") {
  std::string seen_token;
  auto server = StartServer({{"/echo", [&](const ief::ServerRequest& request) {
                                seen_token = request.Header("x-auth-token");
                                return ief::ServerReply{429, "application/json", "{\"error_code\":\"APIGW.0308\"}",
                                                        {{"X-Request-Id", "abc-123"}, {"Retry-After", "3"}}};
                              }}});
  ief::CurlTransport transport({});
  ief::HttpRequest request = Get(Url(*server, "/echo"));
  request.headers = {{"X-Auth-Token", "tok"}};
  auto response = transport.Send(request);
  REQUIRE(response.ok());
  CHECK(response->status == 429);
  CHECK(response->body == "{\"error_code\":\"APIGW.0308\"}");
  CHECK(response->request_id == "abc-123");
  CHECK(response->retry_after == "3");
  CHECK(seen_token == "tok");
}

TEST_CASE("the transport keeps one connection alive across requests") {
  RawHttpServer server([](int socket, const std::string&) {
    return RawHttpServer::WriteAll(socket, RawHttpServer::Response(200, "{}"));
  });
  ief::CurlTransport transport({});
  for (int i = 0; i < 5; ++i) REQUIRE(transport.Send(Get(server.url("/a")))->status == 200);
  CHECK(server.requests() == 5);
  CHECK(server.connections() == 1);
}

TEST_CASE("the transport refuses bodies over the cap, also when they arrive compressed") {
  auto server = StartServer({{"/big", [](const ief::ServerRequest&) {
                                return ief::ServerReply{200, "application/json", std::string(100000, 'x'), {}};
                              }},
                             {"/bomb", [](const ief::ServerRequest&) {
                                // 10 MB of zeros in about 10 KB of gzip.
                                return ief::ServerReply{200, "application/json",
                                                        ief::GzipCompress(std::string(10 << 20, '0')),
                                                        {{"Content-Encoding", "gzip"}}};
                              }}});
  ief::CurlTransport transport({.max_body_bytes = 1000});
  for (const char* path : {"/big", "/bomb"}) {
    INFO(path);
    auto response = transport.Send(Get(Url(*server, path)));
    REQUIRE_FALSE(response.ok());
    CHECK(response.error().kind == ief::ErrorKind::kTransport);
    CHECK(response.error().message == "response larger than the body cap");
  }
}

TEST_CASE("answers in flight share one memory budget, given back when each answer is done") {
  auto server = StartServer({{"/body", [](const ief::ServerRequest&) {
                                return ief::ServerReply{200, "application/json", std::string(300000, 'x'), {}};
                              }}});
  ief::ResponseBudget budget(1 << 20);
  ief::CurlTransport transport({.budget = &budget});
  {
    auto held = transport.Send(Get(Url(*server, "/body")));  // held: its memory stays reserved
    REQUIRE(held.ok());
    CHECK(budget.in_use() >= 300000);
    ief::ResponseBudget small(100000);
    ief::CurlTransport starved({.budget = &small});
    auto refused = starved.Send(Get(Url(*server, "/body")));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message == "answers in flight exceed the response memory budget");
    CHECK(small.in_use() == 0);
  }
  CHECK(budget.in_use() == 0);
}

TEST_CASE("every exchange ends at the request's timeout, whatever the peer does") {
  // A peer that sends its head, then drips one byte every 100 ms and never finishes.
  RawHttpServer server([&](int socket, const std::string&) {
    RawHttpServer::WriteAll(socket, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
    while (!server.stopping() && RawHttpServer::WriteAll(socket, "x")) std::this_thread::sleep_for(100ms);
    return false;
  });
  ief::CurlTransport transport({});
  auto started = std::chrono::steady_clock::now();
  auto response = transport.Send(Get(server.url("/drip"), 700ms));
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(response.ok());
  CHECK(response.error().kind == ief::ErrorKind::kTransport);
  CHECK_THAT(response.error().message, Catch::Contains("imeout") || Catch::Contains("timed out"));
  CHECK(took >= 600ms);
  CHECK(took < 2s);
}

TEST_CASE("a cancellation aborts an exchange in flight within a fraction of a second") {
  RawHttpServer server([&](int, const std::string&) {
    while (!server.stopping()) std::this_thread::sleep_for(10ms);  // never answers
    return false;
  });
  ief::CurlTransport transport({});
  ief::Cancellation cancellation;
  ief::HttpRequest request = Get(server.url("/hang"), 30s);
  request.cancellation = &cancellation;
  std::thread canceller([&] {
    REQUIRE(ief::testing::Eventually([&] { return server.requests() == 1; }));
    cancellation.Cancel();
  });
  auto started = std::chrono::steady_clock::now();
  auto response = transport.Send(request);
  canceller.join();
  REQUIRE_FALSE(response.ok());
  CHECK(response.error().kind == ief::ErrorKind::kCancelled);
  CHECK(std::chrono::steady_clock::now() - started < 3s);
}

TEST_CASE("redirects are answers, never followed: the token does not travel to another place") {
  auto server = StartServer({{"/moved", [](const ief::ServerRequest&) {
                                return ief::ServerReply{302, "text/plain", "", {{"Location", "/elsewhere"}}};
                              }},
                             {"/elsewhere", [](const ief::ServerRequest&) -> ief::ServerReply {
                                FAIL("the redirect was followed");
                                return {};
                              }}});
  ief::CurlTransport transport({});
  ief::HttpRequest request = Get(Url(*server, "/moved"));
  request.headers = {{"X-Auth-Token", "tok"}};
  auto response = transport.Send(request);
  REQUIRE(response.ok());
  CHECK(response->status == 302);
}

TEST_CASE("the transport reports a refused connection and refuses non-HTTP schemes") {
  int port;
  {
    auto server = StartServer({});
    port = server->port();
  }  // closed again: nothing listens there now
  ief::CurlTransport transport({});
  auto refused = transport.Send(Get("http://127.0.0.1:" + std::to_string(port) + "/"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ief::ErrorKind::kTransport);
  CHECK_THAT(refused.error().message, Catch::Contains("127.0.0.1"));

  auto file = transport.Send(Get("file:///etc/passwd"));
  REQUIRE_FALSE(file.ok());
  CHECK(file.error().kind == ief::ErrorKind::kTransport);
}

TEST_CASE("the transport posts a body and reads X-Subject-Token") {
  std::string seen_body, seen_type;
  auto server = StartServer({{"/v3/auth/tokens", [&](const ief::ServerRequest& request) {
                                seen_body = request.body;
                                seen_type = request.Header("content-type");
                                return ief::ServerReply{201, "application/json", "{}", {{"X-Subject-Token", "tok"}}};
                              }}});
  ief::CurlTransport transport({});
  ief::HttpRequest request = Get(Url(*server, "/v3/auth/tokens"));
  request.method = ief::HttpMethod::kPost;
  request.headers = {{"Content-Type", "application/json"}};
  request.body = R"({"auth":{}})";
  auto response = transport.Send(request);
  REQUIRE(response.ok());
  CHECK(response->status == 201);
  CHECK(response->subject_token == "tok");
  CHECK(seen_body == R"({"auth":{}})");
  CHECK(seen_type == "application/json");
}

TEST_CASE("the transport asks for and decodes compressed answers, request after request") {
  std::string seen_encoding;
  auto server = StartServer({{"/gz", [&](const ief::ServerRequest& request) {
                                seen_encoding = request.Header("accept-encoding");
                                std::string body = ief::GzipCompress("{\"job_id\":\"j\"}");
                                return ief::ServerReply{200, "application/json", body, {{"Content-Encoding", "gzip"}}};
                              }}});
  ief::CurlTransport transport({});
  for (int i = 0; i < 3; ++i) {
    auto response = transport.Send(Get(Url(*server, "/gz?limit=1")));
    REQUIRE(response.ok());
    CHECK(response->body == "{\"job_id\":\"j\"}");
  }
  CHECK_THAT(seen_encoding, Catch::Contains("gzip"));
}
