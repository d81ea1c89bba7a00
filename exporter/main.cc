// ief_exporter: wires config -> poller -> snapshot -> collectors -> web, then waits for a signal.
#include <CLI/CLI.hpp>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include "app/exporter_app.h"
#include "config/config.h"
#include "config/web_config.h"
#include "sim/simulator.h"
#include "util/log.h"
#include "util/memory.h"
#include "util/signals.h"
#include "version.h"
#include "web/basic_auth.h"
#include "web/exporter_web.h"
#include "web/http_server.h"
#include "web/tls_collector.h"
#include "web/tls_server.h"

namespace ief {
namespace {

// A SIGTERM ends the process within 2 s, whatever hangs: the web server gets this long to stop (CivetWeb's threads
// see the stop within 200 ms, when their poll ends), the poller stops and saves its state in any case, and
// whatever still runs at the deadline is left behind.
constexpr std::chrono::milliseconds kWebStopBudget{1000};
constexpr std::chrono::milliseconds kShutdownDeadline{1700};

// Stops the web server on a thread of its own; false when that takes longer than `budget` (it then goes on stopping
// in the background).
bool StopWithin(std::unique_ptr<HttpServer> server, std::chrono::milliseconds budget) {
  auto stopped = std::make_shared<std::promise<void>>();
  std::future<void> done = stopped->get_future();
  std::thread([server = std::move(server), stopped]() mutable {
    server.reset();
    stopped->set_value();
  }).detach();
  return done.wait_for(budget) == std::future_status::ready;
}

struct Flags {
  std::string config_file = "ief_exporter.yml";
  bool config_check = false;
  std::vector<std::string> listen_addresses = {":10038"};
  std::string telemetry_path = "/metrics";
  std::string web_config_file;
  std::string storage_path;
  bool enable_lifecycle = false;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  bool demo = false;
  int shard = 0;
  int total_shards = 1;
};

std::string VersionText() {
  return std::string("ief_exporter, version ") + kVersion + " (revision: " + kRevision + ")";
}

// The demo: an in-process simulator on a free loopback port, and a config that tracks its jobs.
struct Demo {
  std::unique_ptr<Simulator> simulator;
  std::unique_ptr<HttpServer> server;
};

Result<Config> StartDemo(Demo& demo) {
  SimulatorOptions options;
  options.generated_jobs = 8;
  options.tasks_per_job = 5;
  options.new_job_every = std::chrono::seconds(45);
  demo.simulator = std::make_unique<Simulator>(options);
  auto server = HttpServer::Start({.listen_addresses = {"127.0.0.1:0"},
                                   .num_threads = 8,
                                   .request_timeout_ms = 30000,
                                   .max_request_body_bytes = 1 << 20,
                                   .keep_alive_timeout_ms = 30000},
                                  demo.simulator->Routes());
  if (!server.ok()) {
    return Error(ErrorKind::kInvalidArgument, "cannot start the demo simulator: " + server.error().message);
  }
  demo.server = std::move(server).value();

  Config config;
  config.source = kDemoConfigSource;
  config.global.poll_interval = std::chrono::seconds(5);
  ProjectConfig project;
  project.project_id = options.project_id;
  project.endpoint = "http://127.0.0.1:" + std::to_string(demo.server->port());
  project.auth.kind = AuthConfig::Kind::kToken;
  project.auth.token = options.token;
  project.discovery.enabled = true;  // the simulator starts a new job every 45 s: discovery picks them up
  config.projects.push_back(project);
  log::Info("Demo mode: discovering the jobs of the built-in IEF simulator", {{"simulator", project.endpoint}});
  return config;
}

// What --web.config.file asks of the web server: TLS, basic auth, headers, a rate limit. Owns what the server's
// options point to.
struct WebSecurity {
  std::shared_ptr<TlsServerContext> tls;
  std::unique_ptr<BasicAuthVerifier> basic_auth;
};

// Loads the web config (certificates included) into `options`; false, with the reason printed, when it is bad.
bool ApplyWebConfig(const std::string& path, HttpServerOptions& options, WebSecurity& security) {
  Result<WebConfig> web_config = LoadWebConfigFile(path);
  if (web_config.ok() && web_config->tls) {
    Result<std::shared_ptr<TlsServerContext>> tls = TlsServerContext::Create(*web_config->tls);
    if (!tls.ok()) web_config = tls.error();
    if (tls.ok()) security.tls = *tls;
  }
  if (!web_config.ok()) {
    std::fprintf(stderr, "%s\n", web_config.error().message.c_str());
    log::Error("Invalid web configuration", {{"file", path}});
    return false;
  }
  options.tls = security.tls;
  options.response_headers = web_config->http.headers;
  options.rate_limit_interval = web_config->rate_limit.interval;
  options.rate_limit_burst = web_config->rate_limit.burst;
  if (!web_config->basic_auth_users.empty()) {
    security.basic_auth = std::make_unique<BasicAuthVerifier>(web_config->basic_auth_users);
    options.authorize = [verifier = security.basic_auth.get()](const ServerRequest& request) {
      return verifier->Check(request.Header("authorization"));
    };
    log::Info("Basic authentication enabled", {{"users", static_cast<long>(web_config->basic_auth_users.size())}});
  }
  if (security.tls) {
    // As exporter-toolkit logs it. HTTP/2 is accepted in the config, but this server answers in HTTP/1.1.
    log::Info("TLS is enabled", {{"http2", "false"}, {"client_auth", std::string(ClientAuthName(web_config->tls->client_auth))}});
  }
  return true;
}

int Run(const Flags& flags) {
  Demo demo;
  Result<Config> config = flags.demo ? StartDemo(demo) : LoadConfigFile(flags.config_file);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    log::Error("Invalid configuration", {{"file", flags.config_file}});
    return 1;
  }
  // Workers, timeouts and queue keep their hardened defaults (web/http_server.h, README "Protecting the endpoint").
  // No endpoint takes a body, so none is accepted: nobody can hold a worker by trickling one in.
  HttpServerOptions server_options{.listen_addresses = flags.listen_addresses, .max_request_body_bytes = 0};
  WebSecurity security;
  if (!flags.web_config_file.empty() && !ApplyWebConfig(flags.web_config_file, server_options, security)) return 1;
  if (flags.config_check) {
    std::printf("%s: config is valid (%zu projects)\n", flags.config_file.c_str(), config->projects.size());
    if (!flags.web_config_file.empty()) std::printf("%s: web config is valid\n", flags.web_config_file.c_str());
    return 0;
  }

  std::unique_ptr<TlsCollector> tls_metrics;
  if (security.tls) tls_metrics = std::make_unique<TlsCollector>(security.tls);
  ExporterApp app(ShardAssignment{flags.shard, flags.total_shards});
  if (tls_metrics) app.AddCollectable(tls_metrics.get());
  if (!flags.storage_path.empty()) {
    if (Status opened = app.OpenStorage(flags.storage_path); !opened.ok()) {
      log::Error("Cannot use the storage path", {{"path", flags.storage_path}, {"err", opened.error().message}});
      return 1;
    }
  }
  ExporterWebOptions web_options{
      .telemetry_path = flags.telemetry_path,
      .enable_lifecycle = flags.enable_lifecycle,
      .landing_page = [&app] { return LandingPageFrom(*app.snapshots().Load(), app.RateLimits(), SystemClock().Wall()); },
  };
  auto routes = ExporterRoutes(web_options, app.exposition(), [&app] { return app.Ready(); },
                               [&app] { return app.Reload(); });
  auto started = HttpServer::Start(server_options, std::move(routes));
  if (!started.ok()) {
    log::Error("Cannot start the web server", {{"err", started.error().message}});
    return 1;
  }
  std::unique_ptr<HttpServer> server = std::move(started).value();
  app.Start(std::move(config).value());
  for (const HostPort& address : server->addresses()) {
    log::Info("Listening on", {{"address", address.ToString()},
                               {"tls", security.tls ? "true" : "false"},
                               {"telemetry_path", flags.telemetry_path}});
  }

  int signal_number;
  while ((signal_number = WaitForProcessSignal()) == SIGHUP) {
    log::Info("SIGHUP received: reloading the config");
    (void)app.Reload();  // a refused reload is logged and counted by the app
  }
  log::Info("Shutting down", {{"signal", signal_number}});
  ExitNoLaterThan(kShutdownDeadline, 0);
  const bool web_stopped = StopWithin(std::move(server), kWebStopBudget);  // stop serving before the poller goes
  app.Stop();
  if (!web_stopped) {  // web workers may still run: the app they serve must not be destroyed under them
    log::Info("Web server still stopping; exiting now");
    std::_Exit(0);
  }
  return 0;
}

}  // namespace
}  // namespace ief

int main(int argc, char** argv) {
  ief::BlockProcessSignals();
  ief::TuneAllocator();
  ief::Flags flags;
  CLI::App app{"Prometheus exporter for Huawei Cloud IEF (Intelligent EdgeFabric) batch jobs.\n"
               "Follows the configured and discovered batch jobs through the IEF API and serves their state on the\n"
               "telemetry path.",
               "ief_exporter"};
  app.add_option("--config.file", flags.config_file, "Path to the YAML config file")->capture_default_str();
  app.add_flag("--config.check", flags.config_check, "Validate the config file and exit (0: valid, 1: invalid)");
  app.add_option("--web.listen-address", flags.listen_addresses,
                 "HOST:PORT to serve metrics on; repeat it for several. :PORT is every address of both families, "
                 "[::1]:PORT an IPv6 address, 0.0.0.0:PORT every IPv4 address")
      ->capture_default_str();
  app.add_option("--web.telemetry-path", flags.telemetry_path, "Path under which to expose metrics")
      ->capture_default_str()
      ->check([](const std::string& path) { return path.starts_with("/") ? "" : "must start with /"; });
  app.add_option("--web.config.file", flags.web_config_file,
                 "Path to a web config (exporter-toolkit format): TLS and mutual TLS, basic authentication, headers");
  app.add_option("--storage.path", flags.storage_path,
                 "Directory for the small state that lets the rollout history survive restarts (none: history "
                 "restarts from zero at every start)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // the package's unit sets it; ARGS may override
  app.add_flag("--web.enable-lifecycle", flags.enable_lifecycle,
               "Enable reloading the config through HTTP: POST /-/reload (off: it answers 403; SIGHUP always works)");
  app.add_option("--log.level", flags.log_level, "Only log messages with the given severity or above: debug, info, "
                                                 "warn, error")
      ->capture_default_str();
  app.add_option("--log.format", flags.log_format, "Log format: logfmt or json")->capture_default_str();
  app.add_option("--shard", flags.shard, "Track only the jobs of this shard (0-based; see --total-shards)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--total-shards", flags.total_shards,
                 "Number of replicas splitting the jobs by a stable hash of the job id")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--demo", flags.demo, "Run against a built-in IEF simulator; no config or cloud account needed");
  app.set_version_flag("--version", ief::VersionText());
  CLI11_PARSE(app, argc, argv);

  auto level = ief::log::ParseLevel(flags.log_level);
  auto format = ief::log::ParseFormat(flags.log_format);
  if (!level.ok() || !format.ok()) {
    std::fprintf(stderr, "ief_exporter: %s\n", (!level.ok() ? level.error() : format.error()).message.c_str());
    return 2;
  }
  if (flags.shard >= flags.total_shards) {
    std::fprintf(stderr, "ief_exporter: --shard=%d must be below --total-shards=%d\n", flags.shard, flags.total_shards);
    return 2;
  }
  ief::log::Configure(*level, *format);
  if (!flags.config_check) ief::log::Info("Starting ief_exporter", {{"version", ief::kVersion}, {"revision", ief::kRevision}});
  return ief::Run(flags);
}
