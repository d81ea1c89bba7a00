#include "web/http_server.h"

#include <catch2/catch.hpp>

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
  options.authorize = [](const ief::ServerRequest& r) { return r.Header("authorization") == "let me in"; };
  auto server = ief::HttpServer::Start(
      options, {{"/x", [](const ief::ServerRequest&) { return ief::ServerReply{200, "text/plain", "x", {}}; }}});
  REQUIRE(server.ok());
  ief::CurlTransport transport({});
  ief::HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/x";
  CHECK(transport.Send(request)->status == 401);
  request.headers = {{"Authorization", "let me in"}};
  CHECK(transport.Send(request)->status == 200);
}
