// ief_simulator: the IEF batch-job API simulator as a standalone process (for tests, demos and benchmarks).
#include <CLI/CLI.hpp>
#include <signal.h>

#include "sim/simulator.h"
#include "util/log.h"
#include "util/signals.h"
#include "version.h"

int main(int argc, char** argv) {
  ief::BlockProcessSignals();
  CLI::App app{"ief_simulator: a simulated Huawei Cloud IEF batch-job API (ShowBatchJob, ListBatchJob) with fault "
               "injection under /sim/.",
               "ief_simulator"};
  std::string listen_address = "127.0.0.1:8080";
  std::string new_job_interval = "0s";
  std::string log_level = "info";
  ief::SimulatorOptions options;
  app.add_option("--web.listen-address", listen_address, "HOST:PORT to listen on (PORT 0 picks a free port)")
      ->capture_default_str();
  app.add_option("--project-id", options.project_id, "the project id the API answers for")->capture_default_str();
  app.add_option("--token", options.token, "the X-Auth-Token it accepts")->capture_default_str();
  app.add_option("--jobs", options.generated_jobs, "generated jobs that exist from the start")->capture_default_str();
  app.add_option("--tasks", options.tasks_per_job, "tasks per generated job")->capture_default_str();
  double phase_seconds = options.phase.count();
  app.add_option("--phase-seconds", phase_seconds, "base length of the Waiting and Running phases")
      ->capture_default_str();
  app.add_option("--throttle", options.throttle_per_second,
                 "answer IEF requests beyond this many per second with 429 APIGW.0308 and a Retry-After, as the API "
                 "gateway does (0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-page-size", options.max_page_size,
                 "ListBatchJob pages hold at most this many jobs, whatever the client asks (0: no cap)")
      ->capture_default_str();
  app.add_option("--new-job-interval", new_job_interval, "a new job appears this often (0s: never)")
      ->capture_default_str();
  std::string iam_lifetime = "24h";
  app.add_option("--iam-domain", options.iam_domain, "IAM: the accepted domain name")->capture_default_str();
  app.add_option("--iam-user", options.iam_user, "IAM: the accepted user name")->capture_default_str();
  app.add_option("--iam-password", options.iam_password, "IAM: the accepted password");
  app.add_option("--iam-token-lifetime", iam_lifetime, "IAM: lifetime of issued tokens")->capture_default_str();
  app.add_option("--access-key", options.access_key, "AK/SK: the accepted access key (empty: AK/SK off)");
  app.add_option("--secret-key", options.secret_key, "AK/SK: its secret key");
  std::string details_lag = "0s";
  app.add_option("--details-lag", details_lag,
                 "ShowBatchJob answers what was true this long ago, like a lagging read replica (0s: never)")
      ->capture_default_str();
  app.add_flag("--duplicate-list-items", options.consistency.duplicate_list_items,
               "every list walk shows each job twice: as it is and as it was a while ago");
  app.add_flag("--timestamps-backwards", options.consistency.timestamps_backwards,
               "a finished job's status_last_updated_at moves 1 s back in each answer, down to 9 s");
  app.add_option("--log.level", log_level, "debug, info, warn or error")->capture_default_str();
  app.set_version_flag("--version", std::string("ief_simulator, version ") + ief::kVersion);
  CLI11_PARSE(app, argc, argv);
  options.phase = std::chrono::duration<double>(phase_seconds);

  auto level = ief::log::ParseLevel(log_level);
  auto interval = ief::ParseDuration(new_job_interval);
  auto lifetime = ief::ParseDuration(iam_lifetime);
  auto lag = ief::ParseDuration(details_lag);
  for (const ief::Error* error : {level.ok() ? nullptr : &level.error(), interval.ok() ? nullptr : &interval.error(),
                                  lifetime.ok() ? nullptr : &lifetime.error(), lag.ok() ? nullptr : &lag.error()}) {
    if (error != nullptr) {
      std::fprintf(stderr, "ief_simulator: %s\n", error->message.c_str());
      return 2;
    }
  }
  options.iam_token_lifetime = *lifetime;
  options.consistency.details_lag = *lag;
  ief::log::Configure(*level, ief::log::Format::kLogfmt);
  options.new_job_every = *interval;

  ief::Simulator simulator(options);
  // Generous settings: the simulator serves tests and benchmarks on loopback, not a hostile network.
  auto server = ief::HttpServer::Start({.listen_addresses = {listen_address},
                                        .num_threads = 16,
                                        .request_timeout_ms = 60000,
                                        .max_request_body_bytes = 1 << 24,
                                        .keep_alive_timeout_ms = 30000},
                                       simulator.Routes());
  if (!server.ok()) {
    ief::log::Error("Cannot start the simulator", {{"err", server.error().message}});
    return 1;
  }
  ief::log::Info("Listening on", {{"address", (*server)->addresses().front().ToString()},
                                  {"project_id", options.project_id}});
  while (ief::WaitForProcessSignal() == SIGHUP) {
  }
  ief::log::Info("Shutting down");
  return 0;
}
