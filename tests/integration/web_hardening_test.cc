// The exporter's endpoint against hostile scrapers and careless operators (issue 13): idle and slowloris
// connections, a wrong-password flood, user-name probing, the lifecycle API, configs nested thousands deep; and
// over TLS (issue 19): idle TLS connections and clients that never finish the handshake. Everything runs on
// loopback, bounded in time and load.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/certificates.h"
#include "support/deep_yaml.h"
#include "support/fixtures.h"
#include "support/integration.h"
#include "support/raw_client.h"

using namespace ief::testing;
using std::chrono::milliseconds;

namespace {

constexpr const char* kConfig = kUnreachableProjectConfig;

int PortOf(const RunningProcess& process) { return std::stoi(process.url.substr(process.url.rfind(':') + 1)); }

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// `count` scrapes of /metrics one after another, `spacing` apart, each allowed `limit`; the seconds each took, or
// a value above `limit` for one that failed.
// Over TLS when `tls` is given (each scrape a new connection: the handshake counts).
std::vector<double> TimedScrapes(int port, int count, milliseconds spacing, milliseconds limit,
                                 const std::string& authorization = "", const TlsClientOptions* tls = nullptr) {
  std::vector<double> seconds;
  for (int i = 0; i < count; ++i) {
    std::string request = GetRequest("/metrics", authorization);
    TimedExchange exchange = tls ? Exchange(port, request, limit, *tls) : Exchange(port, request, limit);
    bool ok = exchange.response && exchange.response->status == 200;
    seconds.push_back(ok ? exchange.seconds : 1e9);
    std::this_thread::sleep_for(spacing);
  }
  return seconds;
}

std::string Describe(const std::vector<double>& seconds) {
  std::string out;
  for (double s : seconds) out += (out.empty() ? "" : " ") + (s > 1e8 ? std::string("failed") : std::to_string(s));
  return out;
}

// Attackers on their own threads until destroyed: `count` connections (opened with `tls` when given), each doing
// `attack` (which returns when its connection is closed or `stop` is set); a closed connection is replaced at
// once, and counted.
class Attackers {
 public:
  using Attack = std::function<void(RawConnection&, const std::atomic<bool>& stop)>;
  Attackers(int port, int count, Attack attack, std::optional<TlsClientOptions> tls = std::nullopt) {
    for (int i = 0; i < count; ++i) {
      threads_.emplace_back([this, port, attack, tls] {
        while (!stop_) {
          RawConnection connection = tls ? RawConnection(port, *tls) : RawConnection(port);
          if (connection.connected()) attack(connection, stop_);
          if (!stop_) ++reconnects_;
        }
      });
    }
  }
  ~Attackers() {
    stop_ = true;
    for (std::thread& thread : threads_) thread.join();
  }
  long reconnects() const { return reconnects_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<long> reconnects_{0};
  std::vector<std::thread> threads_;
};

// Sleeps in short slices, so a stop request is seen soon.
void Pause(milliseconds how_long, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + how_long;
  while (!stop && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(milliseconds(20));
}

}  // namespace

TEST_CASE("a hundred idle connections cost a scrape nothing, and are dropped after the request timeout") {
  TempFile config(kConfig, ".yml");
  RunningProcess exporter = StartExporter(config.path());
  REQUIRE_FALSE(exporter.url.empty());
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(std::make_unique<RawConnection>(PortOf(exporter)));
  auto opened = std::chrono::steady_clock::now();
  REQUIRE(std::all_of(idle.begin(), idle.end(), [](const auto& c) { return c->connected(); }));

  std::vector<double> seconds = TimedScrapes(PortOf(exporter), 10, milliseconds(200), milliseconds(2000));
  INFO("scrapes (s): " << Describe(seconds));
  CHECK(std::count_if(seconds.begin(), seconds.end(), [](double s) { return s < 2.0; }) == 10);
  // The idle connections were there all along (the scrapes did not pass because they had gone) ...
  CHECK_FALSE(idle.back()->SecondsUntilClosed(milliseconds(0)).has_value());
  // ... and the 5 s request timeout ends them.
  for (auto& connection : idle) CHECK(connection->SecondsUntilClosed(milliseconds(8000)).has_value());
  CHECK(std::chrono::steady_clock::now() - opened < std::chrono::seconds(8));
}

TEST_CASE("thirty slowloris connections cost a scrape nothing, and each is cut at the request timeout") {
  TempFile config(kConfig, ".yml");
  RunningProcess exporter = StartExporter(config.path());
  REQUIRE_FALSE(exporter.url.empty());
  // Each sends a request head a byte every 100 ms and never finishes it (a header line that never ends).
  Attackers slowloris(PortOf(exporter), 30, [](RawConnection& connection, const std::atomic<bool>& stop) {
    std::string head = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    for (size_t i = 0; !stop; ++i) {
      char byte = i < head.size() ? head[i] : 'a';
      if (!connection.Send(std::string_view(&byte, 1))) return;
      Pause(milliseconds(100), stop);
    }
  });
  std::this_thread::sleep_for(milliseconds(300));  // let them start
  // Scrapes spread over 6.5 s, longer than the 5 s a head may take: the attackers are cut and come back meanwhile.
  std::vector<double> seconds = TimedScrapes(PortOf(exporter), 10, milliseconds(650), milliseconds(2000));
  INFO("scrapes (s): " << Describe(seconds) << "; slowloris reconnects: " << slowloris.reconnects());
  CHECK(std::count_if(seconds.begin(), seconds.end(), [](double s) { return s < 2.0; }) == 10);
  CHECK(slowloris.reconnects() >= 30);  // every one was cut although it kept sending
}

TEST_CASE("a 64-client wrong-password flood leaves remembered scrapers fast, and is answered 429 beyond the cap") {
  ProtectedExporter protected_exporter("scrape-secret", /*bcrypt_cost=*/10);  // htpasswd's cost: ~80 ms a check
  REQUIRE_FALSE(protected_exporter.exporter.url.empty());
  const int port = PortOf(protected_exporter.exporter);
  const std::string good = BasicAuthorization("prometheus:scrape-secret");
  TimedExchange first = Exchange(port, GetRequest("/metrics", good), milliseconds(5000));
  REQUIRE((first.response && first.response->status == 200));  // now remembered

  std::mutex mutex;
  std::map<int, long> statuses;
  {
    Attackers flood(port, 64, [&](RawConnection& connection, const std::atomic<bool>& stop) {
      for (int i = 0; !stop; ++i) {
        std::string wrong = BasicAuthorization("prometheus:guess-" + std::to_string(i));
        if (!connection.Send(GetRequest("/metrics", wrong))) return;
        std::optional<int> status = connection.ReadResponseStatus(milliseconds(10000));
        if (!status) return;
        std::lock_guard<std::mutex> lock(mutex);
        ++statuses[*status];
      }
    });
    std::this_thread::sleep_for(milliseconds(500));  // the flood at full strength
    std::vector<double> seconds = TimedScrapes(port, 20, milliseconds(50), milliseconds(5000), good);
    std::lock_guard<std::mutex> lock(mutex);
    INFO("legitimate scrapes (s): " << Describe(seconds) << "; flood answers: 401 x" << statuses[401] << ", 429 x"
                                    << statuses[429]);
    CHECK(Median(seconds) <= 0.5);
    CHECK(statuses[401] > 0);                  // guesses are checked ...
    CHECK(statuses[429] > statuses[401]);      // ... one at a time; the rest are turned away at once
    CHECK(statuses.size() == 2);               // and nothing else happens to them
  }
  CHECK_THAT(protected_exporter.exporter.process->Output(), !Catch::Contains("scrape-secret"));
  CHECK_THAT(protected_exporter.exporter.process->Output(), !Catch::Contains("guess-"));
}

TEST_CASE("an unknown user is answered as slowly as a known user with a wrong password") {
  ProtectedExporter protected_exporter("scrape-secret", /*bcrypt_cost=*/10);
  REQUIRE_FALSE(protected_exporter.exporter.url.empty());
  const int port = PortOf(protected_exporter.exporter);
  auto median_seconds = [port](const std::string& user_and_password) {
    std::vector<double> seconds;
    for (int i = 0; i < 9; ++i) {
      TimedExchange exchange = Exchange(port, GetRequest("/metrics", BasicAuthorization(user_and_password)),
                                        milliseconds(5000));
      CHECK((exchange.response && exchange.response->status == 401));
      seconds.push_back(exchange.seconds);
    }
    return Median(seconds);
  };
  double known = median_seconds("prometheus:wrong");
  double unknown = median_seconds("mallory:wrong");
  INFO("known user, wrong password: " << known << " s; unknown user: " << unknown << " s");
  CHECK(known > 0.02);  // a real bcrypt check
  CHECK(unknown > known * 0.7);
  CHECK(unknown < known * 1.4);
}

TEST_CASE("POST /-/reload needs --web.enable-lifecycle and is the only method it takes") {
  TempFile config(kConfig, ".yml");
  for (bool enabled : {false, true}) {
    INFO("--web.enable-lifecycle " << (enabled ? "given" : "absent"));
    RunningProcess exporter =
        StartExporter(config.path(), enabled ? std::vector<std::string>{"--web.enable-lifecycle"}
                                             : std::vector<std::string>{});
    REQUIRE_FALSE(exporter.url.empty());
    const int port = PortOf(exporter);
    auto post = Exchange(port, "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", milliseconds(5000));
    REQUIRE(post.response.has_value());
    if (enabled) {
      CHECK(post.response->status == 200);
      CHECK(post.response->body == "Config reloaded\n");
      CHECK_THAT(exporter.process->Output(), Catch::Contains("Config reloaded"));
    } else {
      CHECK(post.response->status == 403);
      CHECK(post.response->body == "Lifecycle API is not enabled.\n");
      CHECK_THAT(exporter.process->Output(), !Catch::Contains("Config reloaded"));
    }
    for (const char* method : {"PUT", "GET", "DELETE"}) {
      auto other = Exchange(port, std::string(method) + " /-/reload HTTP/1.1\r\nHost: x\r\n\r\n", milliseconds(5000));
      INFO(method);
      REQUIRE(other.response.has_value());
      CHECK(other.response->status == 405);
      CHECK(other.response->Header("Allow") == "POST");
    }
  }
}

TEST_CASE("configs nested thousands deep are refused by every path, and the exporter keeps serving") {
  TempFile config(kConfig, ".yml");
  RunningProcess exporter = StartExporter(config.path(), {"--web.enable-lifecycle"});
  REQUIRE_FALSE(exporter.url.empty());
  const std::string reload_ok = "ief_exporter_config_last_reload_successful";
  for (Nesting nesting : kAllNestings) {
    // Block mappings grow quadratically (12 MB at 5,000 levels): 1,999 levels still fit under the 4 MiB file cap.
    std::vector<int> depths = nesting == Nesting::kBlockMapping ? std::vector<int>{200, 1999, 5000}
                                                                : std::vector<int>{200, 5000, 10000};
    for (int levels : depths) {
      INFO(NestingName(nesting) << ", " << levels << " levels");
      TempFile deep(DeeplyNestedConfig(nesting, levels), ".yml");
      std::string output;
      CHECK(RunCommand({IEF_EXPORTER_BIN, "--config.check", "--config.file=" + deep.path()}, "", output) == 1);
      // A position, or (block mappings grow quadratically) the file size cap.
      CHECK_THAT(output, Catch::Contains(deep.path() + ":") || Catch::Contains("is larger than"));

      config.Write(DeeplyNestedConfig(nesting, levels));
      TestResponse refused = Http("POST", exporter.url + "/-/reload");
      CHECK(refused.status == 500);
      CHECK_THAT(refused.body, Catch::StartsWith("failed to reload config: ") && Catch::Contains(config.path()));

      config.Write(kConfig);
      REQUIRE(Http("POST", exporter.url + "/-/reload").status == 200);
      config.Write(DeeplyNestedConfig(nesting, levels));
      exporter.process->Signal(SIGHUP);
      CHECK(Eventually([&] { return Value(Scrape(exporter), reload_ok) == 0; }));
      CHECK(Http("GET", exporter.url + "/-/healthy").status == 200);
    }
  }
  CHECK(Http("GET", exporter.url + "/metrics").status == 200);
  CHECK(exporter.process->Stop(SIGTERM) == 0);  // alive to the end, and stops cleanly
}

TEST_CASE("idle TLS connections and clients stalled in the handshake cost a TLS scrape nothing") {
  TestCa ca("ief test CA");
  TestCertificate server(ca, "ief-exporter", "IP:127.0.0.1", TestCertificate::Use::kServer);
  REQUIRE(server.ok);
  TlsExporter exporter(server, "");
  REQUIRE(exporter.addresses.size() == 1);
  const int port = exporter.Port();
  const TlsClientOptions trusted{.ca_file = ca.cert.path()};

  // 100 connections that finished the handshake and then say nothing ...
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(std::make_unique<RawConnection>(port, trusted));
  auto opened = std::chrono::steady_clock::now();
  REQUIRE(std::all_of(idle.begin(), idle.end(), [](const auto& c) { return c->connected(); }));
  // ... 30 that send their ClientHello and never answer the server's, and 20 that never say hello at all, each
  // replaced as soon as the server cuts it.
  auto hold = [](RawConnection& connection, const std::atomic<bool>& stop) {
    while (!stop && !connection.SecondsUntilClosed(milliseconds(100))) {
    }
  };
  Attackers stalled(port, 30, hold, TlsClientOptions{.stall_after_hello = true});
  Attackers silent(port, 20, hold);
  std::this_thread::sleep_for(milliseconds(300));  // let them start

  // Scrapes spread over 6.5 s, past the 5 s handshake deadline: the attackers are cut and come back meanwhile.
  std::vector<double> seconds = TimedScrapes(port, 10, milliseconds(650), milliseconds(2000), "", &trusted);
  INFO("TLS scrapes (s): " << Describe(seconds) << "; stalled reconnects: " << stalled.reconnects()
                           << "; silent reconnects: " << silent.reconnects());
  CHECK(std::count_if(seconds.begin(), seconds.end(), [](double s) { return s < 2.0; }) == 10);
  CHECK(stalled.reconnects() >= 30);  // every stalled handshake was cut at the deadline
  CHECK(silent.reconnects() >= 20);
  // The idle TLS connections were cut by the request timeout too.
  for (auto& connection : idle) CHECK(connection->SecondsUntilClosed(milliseconds(8000)).has_value());
  CHECK(std::chrono::steady_clock::now() - opened < std::chrono::seconds(14));
}
