// CurlTransport against a real local server.
#include "ief/http.h"

#include <catch2/catch.hpp>
#include <thread>

#include "web/http_server.h"

namespace {

std::unique_ptr<ief::HttpServer> StartServer(std::vector<ief::Route> routes) {
  auto server = ief::HttpServer::Start({"127.0.0.1:0", 4, 10000, 1 << 20, nullptr}, std::move(routes));
  REQUIRE(server.ok());
  return std::move(server).value();
}

std::string Url(const ief::HttpServer& server, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

}  // namespace

TEST_CASE("CurlTransport sends headers and reads status, body, request id and Retry-After") {
  std::string seen_token;
  auto server = StartServer({{"/echo", [&](const ief::ServerRequest& request) {
                                seen_token = request.Header("x-auth-token");
                                return ief::ServerReply{429, "application/json", "{\"error_code\":\"APIGW.0308\"}",
                                                        {{"X-Request-Id", "abc-123"}, {"Retry-After", "3"}}};
                              }}});
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.url = Url(*server, "/echo");
  request.headers = {{"X-Auth-Token", "tok"}};
  auto response = transport.Send(request);
  REQUIRE(response.transport_ok);
  CHECK(response.status == 429);
  CHECK(response.body == "{\"error_code\":\"APIGW.0308\"}");
  CHECK(response.request_id == "abc-123");
  CHECK(response.retry_after == "3");
  CHECK(seen_token == "tok");
}

TEST_CASE("CurlTransport refuses oversized bodies") {
  auto server = StartServer({{"/big", [](const ief::ServerRequest&) {
                                return ief::ServerReply{200, "application/json", std::string(100000, 'x'), {}};
                              }}});
  ief::CurlTransportOptions options;
  options.max_body_bytes = 1000;
  ief::CurlTransport transport(options);
  ief::HttpRequest request;
  request.url = Url(*server, "/big");
  auto response = transport.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK(response.transport_error == "response larger than 1000 bytes");
  CHECK(response.body.empty());
}

TEST_CASE("CurlTransport gives up on a hanging server at the total timeout") {
  auto server = StartServer({{"/slow", [](const ief::ServerRequest&) {
                                std::this_thread::sleep_for(std::chrono::milliseconds(1500));
                                return ief::ServerReply{200, "text/plain", "late", {}};
                              }}});
  ief::CurlTransportOptions options;
  options.total_timeout = std::chrono::milliseconds(200);
  ief::CurlTransport transport(options);
  ief::HttpRequest request;
  request.url = Url(*server, "/slow");
  auto response = transport.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK_THAT(response.transport_error, Catch::Contains("Timeout"));
  CHECK(response.seconds < 1.0);
}

TEST_CASE("CurlTransport reports a refused connection") {
  int port;
  {
    auto server = StartServer({});
    port = server->port();
  }  // closed again: nothing listens there now
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto response = transport.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK_FALSE(response.transport_error.empty());
}

TEST_CASE("CurlTransport refuses non-HTTP schemes") {
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.url = "file:///etc/passwd";
  auto response = transport.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK(response.body.empty());
}
