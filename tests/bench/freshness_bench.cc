// Freshness against a throttling API gateway: how soon a change upstream shows on /metrics, and what it costs
// in API calls. ief_simulator serves JOBS discovered jobs (RUNNING of them Running, TASKS tasks each) and throttles
// at THROTTLE requests/s like Huawei's API gateway (429 APIGW.0308); ief_exporter discovers them every INTERVAL.
// Every CHANGE_EVERY one Running job changes (alternately a task finishes, or the whole job finishes), and /metrics
// is scraped every 100 ms until it shows the change.
//
//   freshness_bench [--jobs N] [--running N] [--tasks N] [--throttle R] [--rate-limit R] [--interval D]
//                   [--refresh D] [--changes N] [--change-every-ms N] [--quiet-seconds N] [--fill 0|1]
//                   [--history N] [--full-walk-interval D] [--new-jobs 0|1] [--label TEXT] [--header 1]
//
// --history N adds N jobs that finished a month ago, created before every other job (a long-lived tenant's
// history: listed, never shown); --full-walk-interval sets discovery.full_walk_interval (0s: every walk reads the
// whole list). With --new-jobs 1 every third change is a new job appearing at the head of the list.
//
// With --fill 1 (the default) the changes start once every job's details have arrived (the steady state);
// with --fill 0 at once. Changes come CHANGE_EVERY apart on average, at times that do not line up with the
// exporter's rounds. Prints one table row: label; seconds until every job showed its status and until every job
// had its details; p50 and p95 delay of a change; changes seen; API requests/s, list pages per discovery interval
// and detail calls per change during the changes; the share of requests answered 429 (over the whole window, and after the first
// --quiet-seconds).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/integration.h"
#include "util/duration.h"

using namespace ief::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";

struct Options {
  int jobs = 1000;
  int running = 200;
  int tasks = 10;
  double throttle = 20;
  double rate_limit = 20;
  std::string interval = "2s";
  std::string refresh = "5m";
  int changes = 30;
  int change_every_ms = 2000;
  int quiet_seconds = 0;  // 429s are also counted from this long after the start of the changes
  bool wait_for_fill = true;
  bool header = false;
  std::string label = "list-driven";
  int history = 0;                    // jobs finished a month ago, older than all others
  std::string full_walk_interval;     // empty: the exporter's default
  bool new_jobs = false;              // every third change is a new job
};

// Flags of the same names as the fields; CLI11 says what is wrong with a bad one.
void AddFlags(CLI::App& app, Options& o) {
  app.add_option("--jobs", o.jobs);
  app.add_option("--running", o.running);
  app.add_option("--tasks", o.tasks);
  app.add_option("--throttle", o.throttle);
  app.add_option("--rate-limit", o.rate_limit);
  app.add_option("--interval", o.interval);
  app.add_option("--refresh", o.refresh);
  app.add_option("--changes", o.changes);
  app.add_option("--change-every-ms", o.change_every_ms);
  app.add_option("--quiet-seconds", o.quiet_seconds);
  app.add_option("--fill", o.wait_for_fill);
  app.add_option("--header", o.header);
  app.add_option("--label", o.label);
  app.add_option("--history", o.history);
  app.add_option("--full-walk-interval", o.full_walk_interval);
  app.add_option("--new-jobs", o.new_jobs);
}

std::string JobId(int index) {
  char id[32];
  std::snprintf(id, sizeof id, "fresh-%05d", index);
  return id;
}

// When job `index` was created: the jobs followed (0 .. jobs-1) in the last hour, in index order; the history
// (jobs ..) a month before that, newest first; new jobs now.
long CreatedAt(const Options& o, int index) {
  static const long started = static_cast<long>(std::time(nullptr));
  if (index < o.jobs) return started - 3600 + index;
  if (index < o.jobs + o.history) return started - 31 * 86400 - (index - o.jobs);
  return static_cast<long>(std::time(nullptr));
}

// A job document: `succeeded` of its tasks finished, the rest Running; all finished when `finished`.
std::string JobDocument(const Options& o, int index, int succeeded, bool finished, long updated_at) {
  const int tasks = o.tasks;
  std::string task_list;
  for (int t = 0; t < tasks; ++t) {
    bool done = finished || t < succeeded;
    task_list += std::string(t ? "," : "") + R"({"task_id":")" + JobId(index) + "-t" + std::to_string(t) +
                 R"(","task_name":"t)" + std::to_string(t) + R"(","target_id":"node-)" + std::to_string(t) +
                 R"(","status":")" + (done ? "Successful" : "Running") + R"(","created_at":1700000000})";
  }
  return R"({"job_id":")" + JobId(index) + R"(","job_name":"rollout-)" + std::to_string(index) +
         R"(","job_type":"deployment_upgrade","target_type":"node","created_at":)" +
         std::to_string(CreatedAt(o, index)) + R"(,"status":")" + (finished ? "Successful" : "Running") +
         R"(","task_total_count":)" + std::to_string(tasks) + R"(,"task_success_count":)" +
         std::to_string(finished ? tasks : succeeded) + R"(,"task_failed_count":0,"status_last_updated_at":)" +
         std::to_string(updated_at) + R"(,"tasks":[)" + task_list + "]}";
}

// The jobs' last status change: an hour ago (recent enough to keep their series: finished_job_retention).
long StatusChangedAt() { return static_cast<long>(std::time(nullptr)) - 3600; }

void LoadJobs(const RunningProcess& sim, const Options& o) {
  std::string batch;
  const int total = o.jobs + o.history;
  const long month_ago = static_cast<long>(std::time(nullptr)) - 30 * 86400;
  for (int i = 0; i < total; ++i) {
    bool running = i < o.running;
    long updated_at = i < o.jobs ? StatusChangedAt() : month_ago;
    batch += (batch.empty() ? "" : ",") + JobDocument(o, i, running ? 1 : o.tasks, !running, updated_at);
    if ((i + 1) % 100 == 0 || i + 1 == total) {
      if (Http("POST", sim.url + "/sim/jobs", "[" + batch + "]").status != 200) throw std::runtime_error("POST");
      batch.clear();
    }
  }
}

struct Change {
  std::string series;  // the line /metrics shows once the change is seen, up to the value
  std::string value;
  Clock::time_point made;
  std::optional<double> seen_after;  // seconds
};

std::string StatusSeries(const std::string& job_id, const char* status) {
  return "ief_batch_job_status{project_id=\"" + std::string(kProject) + "\",job_id=\"" + job_id + "\",status=\"" +
         status + "\"} ";
}

// A new job, Running, appears at the head of the list.
Change NewJob(const RunningProcess& sim, const Options& o, int number) {
  const int index = o.jobs + o.history + number;
  Change change{StatusSeries(JobId(index), "Running"), "1", Clock::now(), std::nullopt};
  Http("PUT", sim.url + "/sim/jobs/" + JobId(index), JobDocument(o, index, 1, false, StatusChangedAt()));
  return change;
}

// Job `index` changes: a second task finishes (even changes) or the job finishes (odd ones); with --new-jobs,
// every third change is a new job instead.
Change MakeChange(const RunningProcess& sim, const Options& o, int index, int number) {
  if (o.new_jobs && number % 3 == 2) return NewJob(sim, o, number);
  bool finish = number % 2 == 1;
  long now = static_cast<long>(std::time(nullptr));
  Change change;
  if (finish) {
    change.series = StatusSeries(JobId(index), "Successful");
    change.value = "1";
  } else {
    change.series = "ief_batch_job_tasks_succeeded{project_id=\"" + std::string(kProject) + "\",job_id=\"" +
                    JobId(index) + "\"} ";
    change.value = "2";
  }
  change.made = Clock::now();
  Http("PUT", sim.url + "/sim/jobs/" + JobId(index),
       JobDocument(o, index, 2, finish, finish ? now : StatusChangedAt()));
  return change;
}

bool Shows(const std::string& metrics, const Change& change) {
  size_t at = metrics.find(change.series);
  return at != std::string::npos && metrics.compare(at + change.series.size(), change.value.size() + 1,
                                                    change.value + "\n") == 0;
}

struct Counters {
  long list = 0, show = 0, throttled = 0;
  long total() const { return list + show + throttled; }
};
Counters Count(const RunningProcess& sim) {
  return {SimulatorCount(sim, "list"), SimulatorCount(sim, "show"), SimulatorCount(sim, "throttled")};
}

// Jobs whose details have arrived: only those have tasks counted by status.
int JobsWithDetails(const std::string& metrics) {
  int count = 0;
  for (size_t at = 0; (at = metrics.find("ief_batch_job_tasks_by_status{", at)) != std::string::npos; ++at) {
    size_t end = metrics.find('\n', at);
    if (std::string_view(metrics).substr(at, end - at).find("status=\"Waiting\"") != std::string_view::npos) ++count;
  }
  return count;
}

// When change `number` is made: CHANGE_EVERY apart on average, shifted by a pseudo-random part of it so that the
// changes fall anywhere in the exporter's rounds.
std::chrono::milliseconds ChangeTime(const Options& o, int number) {
  return std::chrono::milliseconds(static_cast<long>(number) * o.change_every_ms +
                                   (number * 7919L) % std::max(1, o.change_every_ms / 2));
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"freshness_bench: how soon changes show on /metrics against a throttling gateway"};
  AddFlags(app, o);
  CLI11_PARSE(app, argc, argv);
  RunningProcess sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                                       std::string("--project-id=") + kProject, "--jobs=0",
                                       "--throttle=" + std::to_string(o.throttle)});
  if (sim.url.empty()) return 1;
  LoadJobs(sim, o);
  const std::string full_walk =
      o.full_walk_interval.empty() ? "" : ", full_walk_interval: " + o.full_walk_interval;
  TempFile config("global:\n  poll_interval: " + o.interval + "\n  rate_limit: " + std::to_string(o.rate_limit) +
                      "\n  active_refresh_interval: " + o.refresh + "\nprojects:\n  - project_id: " + kProject +
                      "\n    endpoint: " + sim.url + "\n    auth: {token: demo-token}\n    discovery: {enabled: true" +
                      full_walk + "}\n",
                  ".yml");
  if (o.header) {
    std::printf("%-32s %7s %8s %7s %7s %9s %10s %9s %10s %9s %12s\n", "", "status", "details", "p50 s", "p95 s",
                "seen", "API req/s", "list/int", "detail/chg", "429", "429 later");
  }
  const Clock::time_point launched = Clock::now();
  RunningProcess exporter = StartExporter(config.path());
  if (exporter.url.empty()) return 1;
  const double all_statuses = std::chrono::duration<double>(Clock::now() - launched).count();
  double all_details = -1;
  if (o.wait_for_fill) {
    const auto give_up = Clock::now() + std::chrono::minutes(20);
    while (JobsWithDetails(Http("GET", exporter.url + "/metrics").body) < o.jobs) {
      if (Clock::now() > give_up) return 4;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));  // the measurement's own resolution
    }
    all_details = std::chrono::duration<double>(Clock::now() - launched).count();
  }

  const Clock::time_point start = Clock::now();
  const Counters before = Count(sim);
  std::optional<Counters> after_quiet;
  std::vector<Change> changes;
  const auto change_window = std::chrono::milliseconds(static_cast<long>(o.changes) * o.change_every_ms);
  Counters at_window_end;
  bool window_closed = false;
  while (true) {
    auto elapsed = Clock::now() - start;
    if (static_cast<int>(changes.size()) < o.changes && elapsed >= ChangeTime(o, static_cast<int>(changes.size()))) {
      int number = static_cast<int>(changes.size());
      changes.push_back(MakeChange(sim, o, number % std::max(1, o.running), number));
    }
    if (!after_quiet && o.quiet_seconds > 0 && elapsed >= std::chrono::seconds(o.quiet_seconds)) {
      after_quiet = Count(sim);
    }
    if (!window_closed && elapsed >= change_window) {
      at_window_end = Count(sim);
      window_closed = true;
    }
    std::string metrics = Http("GET", exporter.url + "/metrics").body;
    for (Change& change : changes) {
      if (!change.seen_after && Shows(metrics, change)) {
        change.seen_after = std::chrono::duration<double>(Clock::now() - change.made).count();
      }
    }
    bool all_seen = std::all_of(changes.begin(), changes.end(), [](const Change& c) { return c.seen_after; });
    if (window_closed && (all_seen || elapsed > change_window + std::chrono::seconds(30))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the measurement's own resolution
  }

  std::vector<double> delays;
  for (const Change& change : changes) {
    if (change.seen_after) delays.push_back(*change.seen_after);
  }
  const double seconds = std::chrono::duration<double>(change_window).count();
  const long requests = at_window_end.total() - before.total();
  const Counters from = after_quiet.value_or(before);
  const long late_requests = at_window_end.total() - from.total();
  const ief::Result<ief::Duration> interval = ief::ParseDuration(o.interval);
  const double intervals = interval.ok() && interval->count() > 0 ? seconds * 1000.0 / interval->count() : 1;
  std::printf("%-32s %7.1f %8.1f %7.2f %7.2f %5zu/%-3d %10.1f %9.2f %10.1f %8.1f%% %11.1f%%\n", o.label.c_str(),
              all_statuses, all_details, Percentile(delays, 0.5), Percentile(delays, 0.95), delays.size(), o.changes,
              static_cast<double>(requests) / seconds,
              static_cast<double>(at_window_end.list - before.list) / intervals,
              static_cast<double>(at_window_end.show - before.show) / o.changes,
              requests ? 100.0 * static_cast<double>(at_window_end.throttled - before.throttled) / requests : 0.0,
              late_requests ? 100.0 * static_cast<double>(at_window_end.throttled - from.throttled) / late_requests
                            : 0.0);
  return delays.size() == changes.size() ? 0 : 3;
}
