// Both transports (libcurl's and the builtin HTTP/1.1 client) against a real local server: they must behave the
// same, whichever MakeHttpTransport picks.
#include "ief/http.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <thread>

#include "ief/http1_transport.h"
#include "util/gzip.h"
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

TEMPLATE_TEST_CASE("the transport sends headers and reads status, body, request id and Retry-After",
                   "", ief::CurlTransport, ief::Http1Transport) {
  std::string seen_token;
  auto server = StartServer({{"/echo", [&](const ief::ServerRequest& request) {
                                seen_token = request.Header("x-auth-token");
                                return ief::ServerReply{429, "application/json", "{\"error_code\":\"APIGW.0308\"}",
                                                        {{"X-Request-Id", "abc-123"}, {"Retry-After", "3"}}};
                              }}});
  TestType transport({});
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

TEMPLATE_TEST_CASE("the transport refuses oversized bodies",
                   "", ief::CurlTransport, ief::Http1Transport) {
  auto server = StartServer({{"/big", [](const ief::ServerRequest&) {
                                return ief::ServerReply{200, "application/json", std::string(100000, 'x'), {}};
                              }}});
  ief::HttpTransportOptions options;
  options.max_body_bytes = 1000;
  TestType transport(options);
  ief::HttpRequest request;
  request.url = Url(*server, "/big");
  auto response = transport.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK(response.transport_error == "response larger than 1000 bytes");
  CHECK(response.body.empty());
}

TEMPLATE_TEST_CASE("the transport gives up on a hanging server at the total timeout",
                   "", ief::CurlTransport, ief::Http1Transport) {
  auto server = StartServer({{"/slow", [](const ief::ServerRequest&) {
                                std::this_thread::sleep_for(std::chrono::milliseconds(1500));
                                return ief::ServerReply{200, "text/plain", "late", {}};
                              }}});
  ief::HttpTransportOptions options;
  options.total_timeout = std::chrono::milliseconds(200);
  TestType transport(options);
  ief::HttpRequest request;
  request.url = Url(*server, "/slow");
  auto response = transport.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK_THAT(response.transport_error, Catch::Contains("Timeout"));
  CHECK(response.seconds < 1.0);
}

TEMPLATE_TEST_CASE("the transport reports a refused connection",
                   "", ief::CurlTransport, ief::Http1Transport) {
  int port;
  {
    auto server = StartServer({});
    port = server->port();
  }  // closed again: nothing listens there now
  TestType transport({});
  ief::HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto response = transport.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK_FALSE(response.transport_error.empty());
}

TEMPLATE_TEST_CASE("the transport refuses non-HTTP schemes",
                   "", ief::CurlTransport, ief::Http1Transport) {
  TestType transport({});
  ief::HttpRequest request;
  request.url = "file:///etc/passwd";
  auto response = transport.Send(request);
  CHECK_FALSE(response.transport_ok);
  CHECK(response.body.empty());
}

TEMPLATE_TEST_CASE("the transport posts a body and reads X-Subject-Token", "", ief::CurlTransport,
                   ief::Http1Transport) {
  std::string seen_body, seen_type;
  auto server = StartServer({{"/v3/auth/tokens", [&](const ief::ServerRequest& request) {
                                seen_body = request.body;
                                seen_type = request.Header("content-type");
                                return ief::ServerReply{201, "application/json", "{}", {{"X-Subject-Token", "tok"}}};
                              }}});
  TestType transport({});
  ief::HttpRequest request;
  request.method = "POST";
  request.url = Url(*server, "/v3/auth/tokens");
  request.headers = {{"Content-Type", "application/json"}};
  request.body = R"({"auth":{}})";
  auto response = transport.Send(request);
  REQUIRE(response.transport_ok);
  CHECK(response.status == 201);
  CHECK(response.subject_token == "tok");
  CHECK(seen_body == R"({"auth":{}})");
  CHECK(seen_type == "application/json");
}

TEMPLATE_TEST_CASE("the transport decodes gzip answers, request after request", "", ief::CurlTransport,
                   ief::Http1Transport) {
  std::string seen_encoding;
  auto server = StartServer({{"/gz", [&](const ief::ServerRequest& request) {
                                seen_encoding = request.Header("accept-encoding");
                                std::string body = ief::GzipCompress("{\"job_id\":\"j\"}");
                                return ief::ServerReply{200, "application/json", body, {{"Content-Encoding", "gzip"}}};
                              }}});
  TestType transport({});
  ief::HttpRequest request;
  request.url = Url(*server, "/gz?limit=1");
  for (int i = 0; i < 3; ++i) {
    auto response = transport.Send(request);
    REQUIRE(response.transport_ok);
    CHECK(response.body == "{\"job_id\":\"j\"}");
  }
  CHECK_THAT(seen_encoding, Catch::Contains("gzip"));
}

TEST_CASE("MakeHttpTransport builds the builtin client unless libcurl is asked for or a proxy is configured") {
  unsetenv("http_proxy");
  unsetenv("HTTP_PROXY");
  unsetenv("https_proxy");
  unsetenv("HTTPS_PROXY");
  unsetenv("all_proxy");
  unsetenv("ALL_PROXY");
  ief::HttpTransportOptions options;
  CHECK(dynamic_cast<ief::Http1Transport*>(ief::MakeHttpTransport(options).get()) != nullptr);
  options.client = ief::HttpClientKind::kCurl;
  CHECK(dynamic_cast<ief::CurlTransport*>(ief::MakeHttpTransport(options).get()) != nullptr);

  options.client = ief::HttpClientKind::kBuiltin;
  setenv("HTTPS_PROXY", "http://proxy.example.com:3128", 1);
  CHECK(dynamic_cast<ief::CurlTransport*>(ief::MakeHttpTransport(options).get()) != nullptr);
  CHECK(std::string(ief::EffectiveHttpClientName(ief::HttpClientKind::kBuiltin)) == "curl");
  unsetenv("HTTPS_PROXY");
  CHECK(std::string(ief::EffectiveHttpClientName(ief::HttpClientKind::kBuiltin)) == "builtin");
}
