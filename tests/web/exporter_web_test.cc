#include "web/exporter_web.h"

#include <prometheus/registry.h>

#include <pthread.h>
#include <zlib.h>

#include <catch2/catch.hpp>

#include "support/gunzip.h"
#include <prometheus/gauge.h>

#include "util/gzip.h"
#include "util/large_stack.h"

namespace {


ief::ServerReply Call(const std::vector<ief::Route>& routes, const std::string& method, const std::string& path,
                      std::map<std::string, std::string> headers = {}) {
  ief::ServerRequest request;
  request.method = method;
  request.path = path;
  request.headers = std::move(headers);
  for (const auto& route : routes) {
    if (route.path == path) return route.handler(request);
  }
  FAIL("no route for " << path);
  return {};
}

struct Fixture {
  prometheus::Registry registry;
  ief::Exposition exposition;
  bool ready = false;
  ief::Status reload_result = ief::Status::Ok();
  int reloads = 0;
  std::vector<ief::Route> routes;
  explicit Fixture(const std::string& telemetry_path = "/metrics", bool enable_lifecycle = true) {
    prometheus::BuildGauge().Name("test_gauge").Help("A gauge.").Register(registry).Add({}).Set(42);
    exposition.Add(&registry);
    routes = ief::ExporterRoutes({.telemetry_path = telemetry_path, .enable_lifecycle = enable_lifecycle},
                                 exposition, [this] { return ready; },
                                 [this] {
                                   ++reloads;
                                   return reload_result;
                                 });
  }
};

// The body of a reply, whichever way it is sent.
std::string BodyOf(const ief::ServerReply& reply) {
  std::string body = reply.body;
  for (std::string_view piece : reply.body_pieces) body += piece;
  if (reply.next_chunk) {
    while (reply.next_chunk(body)) {
    }
  }
  return body;
}

}  // namespace

TEST_CASE("metrics are served as the text exposition") {
  Fixture f;
  auto reply = Call(f.routes, "GET", "/metrics");
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "text/plain; version=0.0.4; charset=utf-8");
  std::string body = BodyOf(reply);
  CHECK(reply.streamed_length == body.size());
  CHECK(body == "# HELP test_gauge A gauge.\n# TYPE test_gauge gauge\ntest_gauge 42\n");
}

TEST_CASE("metrics are gzipped when the scraper asks") {
  Fixture f;
  auto reply = Call(f.routes, "GET", "/metrics", {{"accept-encoding", "gzip"}});
  REQUIRE(reply.headers.size() == 1);
  CHECK(reply.headers[0] == std::pair<std::string, std::string>{"Content-Encoding", "gzip"});
  std::string compressed = BodyOf(reply);
  CHECK(compressed.substr(0, 2) == "\x1f\x8b");
  CHECK(ief::testing::Gunzip(compressed) == "# HELP test_gauge A gauge.\n# TYPE test_gauge gauge\ntest_gauge 42\n");
}

TEST_CASE("a scraper that refuses gzip with q=0 gets plain text") {
  Fixture f;
  for (const char* refusal : {"gzip;q=0.0", "gzip; q=0.000", "GZIP;Q=0"}) {
    INFO(refusal);
    auto reply = Call(f.routes, "GET", "/metrics", {{"accept-encoding", refusal}});
    CHECK(reply.headers.empty());
    std::string body = BodyOf(reply);
    CHECK(body == "# HELP test_gauge A gauge.\n# TYPE test_gauge gauge\ntest_gauge 42\n");
  }
}

TEST_CASE("readiness follows the first poll round, health is always ok") {
  Fixture f;
  CHECK(Call(f.routes, "GET", "/-/ready").status == 503);
  CHECK(Call(f.routes, "GET", "/-/healthy").status == 200);
  f.ready = true;
  CHECK(Call(f.routes, "GET", "/-/ready").status == 200);
}

TEST_CASE("the landing page links the telemetry path") {
  Fixture f("/custom/metrics");
  auto reply = Call(f.routes, "GET", "/");
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "text/html; charset=utf-8");
  CHECK_THAT(reply.body, Catch::Contains("<a href=\"/custom/metrics\">Metrics</a>"));
  CHECK(Call(f.routes, "GET", "/custom/metrics").status == 200);
}

TEST_CASE("write methods are refused on read-only endpoints, naming the allowed ones") {
  Fixture f;
  auto refused = Call(f.routes, "POST", "/metrics");
  CHECK(refused.status == 405);
  CHECK(refused.headers == std::vector<std::pair<std::string, std::string>>{{"Allow", "GET, HEAD"}});
  CHECK(Call(f.routes, "DELETE", "/-/healthy").status == 405);
}

TEST_CASE("POST /-/reload reports the outcome") {
  Fixture f;
  CHECK(Call(f.routes, "POST", "/-/reload").status == 200);
  f.reload_result = ief::Error(ief::ErrorKind::kInvalidArgument, "ief.yml:3:5: unknown key \"jbos\"");
  auto refused = Call(f.routes, "POST", "/-/reload");
  CHECK(refused.status == 500);
  CHECK(refused.body == "failed to reload config: ief.yml:3:5: unknown key \"jbos\"\n");
  CHECK(f.reloads == 2);
}

TEST_CASE("/-/reload takes POST only, with or without the lifecycle API") {
  for (bool enabled : {true, false}) {
    Fixture f("/metrics", enabled);
    for (const char* method : {"GET", "HEAD", "PUT", "DELETE", "PATCH"}) {
      auto reply = Call(f.routes, method, "/-/reload");
      INFO(method << " with the lifecycle API " << (enabled ? "on" : "off"));
      CHECK(reply.status == 405);
      CHECK(reply.headers == std::vector<std::pair<std::string, std::string>>{{"Allow", "POST"}});
    }
    CHECK(f.reloads == 0);
  }
}

TEST_CASE("without --web.enable-lifecycle POST /-/reload is refused and reloads nothing") {
  Fixture f("/metrics", /*enable_lifecycle=*/false);
  auto refused = Call(f.routes, "POST", "/-/reload");
  CHECK(refused.status == 403);
  CHECK(refused.body == "Lifecycle API is not enabled.\n");
  CHECK(f.reloads == 0);
}

TEST_CASE("a reload runs where the stack is large, not on the caller's") {
  size_t seen_stack = 0;
  prometheus::Registry registry;
  ief::Exposition exposition;
  auto routes = ief::ExporterRoutes({.enable_lifecycle = true}, exposition, [] { return true; }, [&] {
    pthread_attr_t attributes;
    pthread_getattr_np(pthread_self(), &attributes);
    pthread_attr_getstacksize(&attributes, &seen_stack);
    pthread_attr_destroy(&attributes);
    return ief::Status::Ok();
  });
  CHECK(Call(routes, "POST", "/-/reload").status == 200);
  CHECK(seen_stack >= ief::kLargeStackBytes);
}
