// Soak: the exporter against a simulator whose jobs keep coming and going (created, running, finished, deleted)
// while the config is reloaded now and then, for MINUTES minutes. Prints RSS, open file descriptors and threads
// every minute; at the end, whether RSS stayed within 10% after the first WARMUP minutes.
//
//   soak [--minutes N] [--warmup N] [--live-jobs N] [--tasks N] [--churn-every-ms N] [--reload-every-s N]
//
// Exit code: 0 when flat (or too short to tell), 3 when RSS grew more than 10% after the warm-up.
#include <CLI/CLI.hpp>
#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/integration.h"

using namespace ief::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";
constexpr int kWebWorkerThreads = 256;  // HttpServerOptions::num_threads, the exporter's default

// Set by SIGINT/SIGTERM: the driver winds down so that its exporter and simulator are stopped with it. A second
// signal is not caught (SA_RESETHAND): it ends a driver that is stuck.
volatile std::sig_atomic_t g_stop = 0;
void RequestStop(int) { g_stop = 1; }
void StopOnSignals() {
  struct sigaction action {};
  action.sa_handler = RequestStop;
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

struct Options {
  int minutes = 30;
  int warmup = 5;
  int live_jobs = 200;
  int tasks = 20;
  int churn_every_ms = 500;
  int reload_every_s = 30;
};

std::string Document(long number, int tasks, const std::string& status) {
  const long now = static_cast<long>(std::time(nullptr));
  const std::string id = "soak-" + std::to_string(number);
  std::string list;
  for (int t = 0; t < tasks; ++t) {
    const bool failed = status != "Running" && t % 7 == 0;
    list += std::string(t ? "," : "") + R"({"task_id":")" + id + "-" + std::to_string(t) +
            R"(","target_id":"node-)" + std::to_string((number + t) % 300) + R"(","status":")" +
            (status == "Running" ? "Running" : failed ? "Failed" : "Successful") + R"(","reason":")" +
            (failed ? "image pull failed" : "") + R"("})";
  }
  return R"({"job_id":")" + id + R"(","job_name":"soak-)" + std::to_string(number) +
         R"(","job_type":"deployment_upgrade","created_at":)" + std::to_string(now - 60) + R"(,"status":")" + status +
         R"(","task_total_count":)" + std::to_string(tasks) + R"(,"status_last_updated_at":)" +
         std::to_string(now) + R"(,"tasks":[)" + list + "]}";
}

int OpenFds(pid_t pid) {
  DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

double TrackedJobs(const RunningProcess& exporter) {
  double tracked = 0;
  for (const auto& [series, value] : Scrape(exporter)) {
    if (series.starts_with("ief_tracked_jobs{")) tracked += value;
  }
  return tracked;
}

// Each CivetWeb worker keeps what its first full-size request touched (its stack pages, its thread's malloc cache:
// about 40 KB) for good, and the workers take requests in turn: at a scrape a minute the 256 of them would show as
// slow growth for four hours. Every worker serves a full page (gzip, as Prometheus asks) before measuring.
void WarmUpWebWorkers(const RunningProcess& exporter, int jobs) {
  const double before = static_cast<double>(exporter.process->StatusKilobytes("VmRSS")) / 1024;
  for (int scrape = 0; scrape < 2 * kWebWorkerThreads && !g_stop; ++scrape) Http("GET", exporter.url + "/metrics");
  std::printf("RSS with %d jobs: %.1f MB; after every web worker served a scrape: %.1f MB\n", jobs, before,
              static_cast<double>(exporter.process->StatusKilobytes("VmRSS")) / 1024);
}

// Keeps about `live_jobs` jobs: each tick one job is created, the oldest running one finishes, and the oldest
// finished one is deleted once there are too many.
class Churn {
 public:
  Churn(const RunningProcess& sim, const Options& o) : sim_(sim), o_(o) {}
  void Tick() {
    long number = next_++;
    Http("PUT", sim_.url + "/sim/jobs/soak-" + std::to_string(number), Document(number, o_.tasks, "Running"));
    running_.push_back(number);
    if (static_cast<int>(running_.size()) > o_.live_jobs / 4) {
      long done = running_.front();
      running_.pop_front();
      Http("PUT", sim_.url + "/sim/jobs/soak-" + std::to_string(done),
           Document(done, o_.tasks, done % 5 == 0 ? "Partially_successful" : "Successful"));
      finished_.push_back(done);
    }
    if (static_cast<int>(finished_.size()) > o_.live_jobs * 3 / 4) {
      Http("DELETE", sim_.url + "/sim/jobs/soak-" + std::to_string(finished_.front()));
      finished_.pop_front();
    }
  }

 private:
  const RunningProcess& sim_;
  const Options& o_;
  long next_ = 0;
  std::deque<long> running_, finished_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"soak: the exporter against churning jobs and reloads"};
  app.add_option("--minutes", o.minutes);
  app.add_option("--warmup", o.warmup, "minutes before RSS is expected to stay flat");
  app.add_option("--live-jobs", o.live_jobs);
  app.add_option("--tasks", o.tasks);
  app.add_option("--churn-every-ms", o.churn_every_ms);
  app.add_option("--reload-every-s", o.reload_every_s);
  CLI11_PARSE(app, argc, argv);
  StopOnSignals();
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=0"});
  if (sim.url.empty()) return 1;
  TempFile config("global:\n  poll_interval: 2s\nprojects:\n  - project_id: " + std::string(kProject) +
                      "\n    endpoint: " + sim.url + "\n    auth: {token: demo-token}\n    discovery: {enabled: true}\n",
                  ".yml");
  RunningProcess exporter = StartExporter(config.path());
  if (exporter.url.empty()) return 1;
  ChildProcess& process = *exporter.process;

  Churn churn(sim, o);
  // Fill first: the simulator reaches its steady number of jobs, and the exporter tracks them, before measuring.
  for (int tick = 0; tick < o.live_jobs && !g_stop; ++tick) {
    churn.Tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(o.churn_every_ms));
  }
  Eventually([&] { return g_stop || TrackedJobs(exporter) >= o.live_jobs; }, std::chrono::seconds(30));
  WarmUpWebWorkers(exporter, o.live_jobs);

  std::printf("%6s %8s %6s %8s %8s %8s\n", "minute", "RSS MB", "fds", "threads", "tracked", "reloads");
  std::vector<double> rss;
  int reloads = 0;
  const Clock::time_point start = Clock::now();
  Clock::time_point next_churn = start, next_reload = start + std::chrono::seconds(o.reload_every_s);
  for (int minute = 1; minute <= o.minutes && !g_stop; ++minute) {
    const Clock::time_point minute_end = start + std::chrono::minutes(minute);
    while (Clock::now() < minute_end && !g_stop) {
      if (Clock::now() >= next_churn) {
        churn.Tick();
        next_churn += std::chrono::milliseconds(o.churn_every_ms);
      }
      if (Clock::now() >= next_reload) {
        process.Signal(SIGHUP);
        ++reloads;
        next_reload += std::chrono::seconds(o.reload_every_s);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the driver's own pace
    }
    if (g_stop) break;
    const double tracked = TrackedJobs(exporter);
    rss.push_back(static_cast<double>(process.StatusKilobytes("VmRSS")) / 1024);
    std::printf("%6d %8.1f %6d %8ld %8.0f %8d\n", minute, rss.back(), OpenFds(process.pid()),
                process.StatusKilobytes("Threads"), tracked, reloads);
    std::fflush(stdout);
  }
  if (g_stop) {
    std::printf("interrupted\n");
    return 1;
  }
  if (o.minutes <= o.warmup) {
    std::printf("too short to judge flatness (warm-up %d minutes)\n", o.warmup);
    return 0;
  }
  const double base = rss[static_cast<size_t>(o.warmup) - 1];
  const double highest = *std::max_element(rss.begin() + o.warmup, rss.end());
  std::printf("RSS after the %d-minute warm-up: %.1f MB; highest since: %.1f MB (%+.1f%%)\n", o.warmup, base, highest,
              100 * (highest - base) / base);
  return highest <= base * 1.10 ? 0 : 3;
}
