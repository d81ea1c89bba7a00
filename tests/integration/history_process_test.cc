// Rollout history end to end: ief_simulator made to lag, repeat itself and move timestamps backwards, the exporter
// reloaded, killed and restarted with --storage.path; every history counter must equal the real transitions, added
// up across restarts as Prometheus's increase() adds across a counter reset.
#include <catch2/catch.hpp>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>

#include "support/fixtures.h"
#include "support/integration.h"

using namespace ief::testing;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";
using Metrics = std::map<std::string, double>;

long Now() { return static_cast<long>(time(nullptr)); }
double SecondsNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const char* kTwoTasksOneFailed =
    R"([{"task_id":"a","status":"Successful","target_id":"n-a"},)"
    R"({"task_id":"b","status":"Failed","reason":"image pull failed","target_id":"n-b"}])";
const char* kTwoTasksRunning =
    R"([{"task_id":"a","status":"Running","target_id":"n-a"},{"task_id":"b","status":"Running","target_id":"n-b"}])";

std::string Doc(const std::string& id, const std::string& status, long updated, long created,
                const std::string& tasks = "[]") {
  return R"({"job_id":")" + id + R"(","job_name":"rollout-)" + id +
         R"(","job_type":"deployment_upgrade","status":")" + status + R"(","created_at":)" + std::to_string(created) +
         R"(,"status_last_updated_at":)" + std::to_string(updated) + R"(,"tasks":)" + tasks + "}";
}

void Put(const RunningProcess& sim, const std::string& id, const std::string& document) {
  REQUIRE(Http("PUT", sim.url + "/sim/jobs/" + id, document).status == 200);
}

// The simulator with no generated job: each test puts its own.
RunningProcess StartSimulator() {
  return StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                         std::string("--project-id=") + kProject, "--jobs=0"});
}

// Jobs job-0, job-1... running with two tasks each since before the test, which fail one task each when finished.
class Rollout {
 public:
  Rollout(const RunningProcess& sim, int jobs) : sim_(sim) {
    for (int i = 0; i < jobs; ++i) {
      Put(sim_, Id(i), Doc(Id(i), "Running", started_ - 10, started_ - 100, kTwoTasksRunning));
    }
  }
  static std::string Id(int i) { return "job-" + std::to_string(i); }
  void Finish(int from, int to) const {
    for (int i = from; i < to; ++i) {
      Put(sim_, Id(i), Doc(Id(i), "Failed", Now(), started_ - 100, kTwoTasksOneFailed));
    }
  }

 private:
  const RunningProcess& sim_;
  const long started_ = Now();
};

std::string Config(const std::string& endpoint, const std::string& extra_global = "") {
  return "global:\n  poll_interval: 1s\n  request_timeout: 3s\n" + extra_global + "projects:\n  - project_id: " +
         kProject + "\n    endpoint: " + endpoint + "\n    auth: {token: demo-token}\n    discovery:\n      enabled: true\n";
}

// The sum of every series of a family (name{...}).
double Sum(const Metrics& metrics, const std::string& family) {
  double sum = 0;
  for (const auto& [series, value] : metrics) {
    if (series.starts_with(family + "{") || series == family) sum += value;
  }
  return sum;
}

std::string Finished(const std::string& status) {
  return std::string("ief_batch_jobs_finished_total{job_type=\"deployment_upgrade\",project_id=\"") + kProject +
         "\",status=\"" + status + "\"}";
}

// Waits until the exporter has read the list `walks` more times (each walk is one page here).
void WaitForListWalks(const RunningProcess& sim, long walks) {
  const long target = SimulatorCount(sim, "list") + walks;
  REQUIRE(Eventually([&] { return SimulatorCount(sim, "list") >= target; }));
}

// Remembers every counter-like series (counters, histogram buckets, sums and counts) and notes any that went down.
struct CounterWatch {
  Metrics last;
  std::vector<std::string> decreased;
  void Observe(const Metrics& metrics) {
    for (const auto& [series, value] : metrics) {
      const std::string name = series.substr(0, series.find('{'));
      if (!name.ends_with("_total") && !name.ends_with("_bucket") && !name.ends_with("_count") &&
          !name.ends_with("_sum")) {
        continue;
      }
      if (name.starts_with("process_")) continue;
      auto it = last.find(series);
      if (it != last.end() && value < it->second) decreased.push_back(series);
      last[series] = value;
    }
  }
};

}  // namespace

TEST_CASE("history: each transition counted once while the API lags, repeats itself and goes backwards, across reloads") {
  RunningProcess sim = StartSimulator();
  REQUIRE_FALSE(sim.url.empty());
  const long t = Now();
  for (int i = 0; i < 6; ++i) Put(sim, "job-" + std::to_string(i), Doc("job-" + std::to_string(i), "Running", t - 10, t - 100));
  TempFile config(Config(sim.url), ".yml");
  RunningProcess exporter = StartExporter(config.path());
  INFO(exporter.process->Output());
  REQUIRE_FALSE(exporter.url.empty());

  CounterWatch watch;
  auto observe = [&] {
    Metrics metrics = Scrape(exporter);
    watch.Observe(metrics);
    return metrics;
  };
  auto value = [&](const std::string& series) { return Value(observe(), series).value_or(-1); };
  const std::string retries = std::string("ief_batch_job_retries_total{job_type=\"deployment_upgrade\",project_id=\"") +
                              kProject + "\"}";
  // A read replica three seconds behind, and every walk showing each job twice: as it is and as it was.
  REQUIRE(Http("PUT", sim.url + "/sim/consistency", R"({"details_lag_ms": 3000, "duplicate_list_items": true})").status ==
          200);

  // Three jobs fail.
  for (int i = 0; i < 3; ++i) Put(sim, "job-" + std::to_string(i), Doc("job-" + std::to_string(i), "Failed", t + 1, t - 100));
  CHECK(Eventually([&] { return value(Finished("Failed")) == 3; }));

  // A reload, and job 0's status_last_updated_at moving backwards three times.
  exporter.process->Signal(SIGHUP);
  for (int back = 1; back <= 3; ++back) {
    Put(sim, "job-0", Doc("job-0", "Failed", t + 1 - back, t - 100));
    WaitForListWalks(sim, 2);
  }
  CHECK(value(Finished("Failed")) == 3);

  // Job 1 retried a minute later, then successful.
  Put(sim, "job-1", Doc("job-1", "Running", t + 65, t - 100));
  CHECK(Eventually([&] { return value(retries) == 1; }));
  Put(sim, "job-1", Doc("job-1", "Successful", t + 66, t - 100));
  CHECK(Eventually([&] { return value(Finished("Successful")) == 1; }));

  // Job 2 deleted and created again under the same id: a new job, whose failure counts, and no retry.
  REQUIRE(Http("DELETE", sim.url + "/sim/jobs/job-2").status == 200);
  WaitForListWalks(sim, 2);
  Put(sim, "job-2", Doc("job-2", "Running", t + 7, t + 7));
  WaitForListWalks(sim, 2);
  Put(sim, "job-2", Doc("job-2", "Failed", t + 8, t + 7));
  CHECK(Eventually([&] { return value(Finished("Failed")) == 4; }));

  // Job 3 fails while its ShowBatchJob answers 500, then three reloads: still one finish.
  REQUIRE(Http("PUT", sim.url + "/sim/faults/job-3", R"({"kind":"http_500"})").status == 200);
  Put(sim, "job-3", Doc("job-3", "Failed", t + 9, t - 100));
  CHECK(Eventually([&] { return value(Finished("Failed")) == 5; }));
  for (int reload = 0; reload < 3; ++reload) {
    exporter.process->Signal(SIGHUP);
    WaitForListWalks(sim, 3);
    CHECK(value(Finished("Failed")) == 5);
  }

  const Metrics metrics = observe();
  CHECK(Value(metrics, Finished("Failed")) == 5);
  CHECK(Value(metrics, Finished("Successful")) == 1);
  CHECK(Value(metrics, retries) == 1);
  CHECK(Sum(metrics, "ief_batch_job_duration_seconds_count") == 6);
  CHECK(Sum(metrics, "ief_discovery_duplicate_jobs_total") > 0);
  CHECK(Sum(metrics, "ief_api_stale_answers_total") > 0);
  CHECK(watch.decreased.empty());
}

TEST_CASE("history: the overrun counter and the round duration survive a reload") {
  RunningProcess sim = StartSimulator();
  REQUIRE_FALSE(sim.url.empty());
  Put(sim, "slow", Doc("slow", "Running", Now(), Now() - 100));
  REQUIRE(Http("PUT", sim.url + "/sim/faults/slow", R"({"kind":"delay","delay_ms":1300})").status == 200);
  TempFile config("global:\n  poll_interval: 1s\n  request_timeout: 3s\nprojects:\n  - project_id: " +
                      std::string(kProject) + "\n    endpoint: " + sim.url + "\n    auth: {token: demo-token}\n"
                      "    jobs: [slow]\n",
                  ".yml");
  RunningProcess exporter = StartExporter(config.path());
  REQUIRE_FALSE(exporter.url.empty());
  REQUIRE(Eventually([&] { return Value(Scrape(exporter), "ief_poll_rounds_overrun_total").value_or(0) >= 2; }));
  const double overruns = *Value(Scrape(exporter), "ief_poll_rounds_overrun_total");
  exporter.process->Signal(SIGHUP);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  int scrapes = 0;
  while (std::chrono::steady_clock::now() < until) {
    const Metrics metrics = Scrape(exporter);
    CHECK(Value(metrics, "ief_poll_rounds_overrun_total").value_or(-1) >= overruns);
    CHECK(Value(metrics, "ief_poll_round_duration_seconds").has_value());
    ++scrapes;
  }
  CHECK(scrapes > 10);
  CHECK(Eventually([&] { return Value(Scrape(exporter), "ief_exporter_config_last_reload_successful") == 1.0; }));
}

TEST_CASE("history survives restarts: what finished during a kill -9 or a graceful restart counts once") {
  RunningProcess sim = StartSimulator();
  REQUIRE_FALSE(sim.url.empty());
  const Rollout rollout(sim, 20);
  auto finish = [&](int from, int to) { rollout.Finish(from, to); };
  TempDirectory storage;
  TempFile config(Config(sim.url), ".yml");
  const std::vector<std::string> storage_flag = {"--storage.path=" + storage.path()};
  const std::string tasks = "ief_batch_tasks_finished_total";
  auto settled = [&](const RunningProcess& exporter, double jobs, double finished_tasks) {
    return Eventually([&] {
      const Metrics metrics = Scrape(exporter);
      return Value(metrics, Finished("Failed")) == jobs && Sum(metrics, tasks) == finished_tasks;
    });
  };

  RunningProcess first = StartExporter(config.path(), storage_flag);
  REQUIRE_FALSE(first.url.empty());
  CHECK(Value(Scrape(first), "ief_exporter_state_read_errors_total") == 0);  // no file yet is no error
  // Every job's first details are in (its tasks' baseline) before anything finishes.
  REQUIRE(Eventually([&] { return Sum(Scrape(first), "ief_batch_job_tasks_by_status") == 40; }));
  finish(0, 5);
  CHECK(settled(first, 5, 10));
  first.process->Stop(SIGKILL);

  finish(5, 10);  // while it is down
  RunningProcess second = StartExporter(config.path(), storage_flag);
  INFO(second.process->Output());
  REQUIRE_FALSE(second.url.empty());
  CHECK(settled(second, 5, 10));  // 5 + 5 across the kill
  CHECK(second.process->Stop(SIGTERM) == 0);

  finish(10, 13);  // during a graceful restart
  RunningProcess third = StartExporter(config.path(), storage_flag);
  REQUIRE_FALSE(third.url.empty());
  CHECK(settled(third, 3, 6));  // 5 + 5 + 3
  WaitForListWalks(sim, 3);
  CHECK(Value(Scrape(third), Finished("Failed")) == 3);  // and nothing more
  const std::string page = Http("GET", third.url + "/").body;
  CHECK(page.find("History counted since") != std::string::npos);
}

TEST_CASE("history: kills at random moments during a rollout never count a job twice") {
  RunningProcess sim = StartSimulator();
  REQUIRE_FALSE(sim.url.empty());
  const long t = Now();
  constexpr int kJobs = 30;
  auto id = [](int i) { return "job-" + std::to_string(i); };
  for (int i = 0; i < kJobs; ++i) Put(sim, id(i), Doc(id(i), "Running", t - 10, t - 100));
  TempDirectory storage;
  TempFile config(Config(sim.url), ".yml");
  const std::vector<std::string> storage_flag = {"--storage.path=" + storage.path()};

  RunningProcess exporter = StartExporter(config.path(), storage_flag);
  REQUIRE_FALSE(exporter.url.empty());
  std::thread rollout([&] {  // one job fails every 400 ms, from now on
    for (int i = 0; i < kJobs; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      Http("PUT", sim.url + "/sim/jobs/" + id(i), Doc(id(i), "Failed", Now(), t - 100));
    }
  });
  std::mt19937 random(20261204);
  double counted = 0;  // what Prometheus would add up: each life's last scraped value
  std::string lives;
  for (int life = 0; life < 6; ++life) {
    if (life > 0) exporter = StartExporter(config.path(), storage_flag);
    REQUIRE_FALSE(exporter.url.empty());
    const bool last = life == 5;
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(last ? 0 : std::uniform_int_distribution<int>(800, 4000)(random));
    double seen = 0;
    while (std::chrono::steady_clock::now() < until) {
      seen = Value(Scrape(exporter), Finished("Failed")).value_or(seen);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (last) {
      rollout.join();
      Eventually([&] { return counted + Value(Scrape(exporter), Finished("Failed")).value_or(0) >= kJobs; });
      WaitForListWalks(sim, 3);
      seen = Value(Scrape(exporter), Finished("Failed")).value_or(0);
    }
    lives += " " + std::to_string(static_cast<int>(seen));
    counted += seen;
    exporter.process->Stop(SIGKILL);
  }
  INFO("counted in each life:" << lives);
  CHECK(counted <= kJobs);      // never twice
  // A kill can only lose what was saved and published but not scraped yet: here a few jobs at most.
  CHECK(counted >= kJobs - 3);
}

TEST_CASE("history: a resharding neither loses nor doubles a moved job's history") {
  RunningProcess sim = StartSimulator();
  REQUIRE_FALSE(sim.url.empty());
  constexpr int kJobs = 16;
  const Rollout rollout(sim, kJobs);
  auto finish = [&](int from, int to) { rollout.Finish(from, to); };
  auto id = &Rollout::Id;
  TempDirectory storage;
  TempFile config(Config(sim.url), ".yml");
  auto replica = [&](int shard, int total) {
    return StartExporter(config.path(), {"--storage.path=" + storage.path(), "--shard=" + std::to_string(shard),
                                         "--total-shards=" + std::to_string(total)});
  };
  const std::string tasks = "ief_batch_tasks_finished_total";

  // Two replicas share the directory; every job's tasks have their baseline.
  RunningProcess first = replica(0, 2);
  RunningProcess second = replica(1, 2);
  REQUIRE_FALSE(first.url.empty());
  REQUIRE_FALSE(second.url.empty());
  REQUIRE(Eventually([&] {
    return Sum(Scrape(first), "ief_batch_job_tasks_by_status") + Sum(Scrape(second), "ief_batch_job_tasks_by_status") ==
           2 * kJobs;
  }));
  // ... and both files hold them (a file is written at most every 2 s).
  const double baselines_at = SecondsNow();
  for (const RunningProcess* replica_process : {&first, &second}) {
    REQUIRE(Eventually([&] {
      return Value(Scrape(*replica_process), "ief_exporter_state_last_write_success_timestamp_seconds").value_or(0) >
             baselines_at;
    }));
  }
  // How many of these jobs a replica follows (it shows series of its own jobs only).
  auto owned = [&](const RunningProcess& replica_process, std::vector<std::string> job_ids) {
    const Metrics metrics = Scrape(replica_process);
    return std::count_if(job_ids.begin(), job_ids.end(), [&](const std::string& job_id) {
      return std::any_of(metrics.begin(), metrics.end(), [&](const auto& series) {
        return series.first.find("job_id=\"" + job_id + "\"") != std::string::npos;
      });
    });
  };
  auto ids = [&](int from, int to) {
    std::vector<std::string> job_ids;
    for (int i = from; i < to; ++i) job_ids.push_back(id(i));
    return job_ids;
  };
  const long second_owns = owned(second, ids(0, 8));  // of jobs 0-7, the ones replica 1 follows
  INFO("replica 1 of 2 follows " << second_owns << " of jobs 0-7");

  // Replica 0 dies; jobs 0-7 finish, and replica 1 counts its share; then it stops too.
  first.process->Stop(SIGKILL);
  finish(0, 8);
  CHECK(Eventually([&] {
    const Metrics metrics = Scrape(second);
    return Value(metrics, Finished("Failed")) == second_owns && Sum(metrics, tasks) == 2 * second_owns;
  }));
  CHECK(second.process->Stop(SIGTERM) == 0);

  // Jobs 8-11 finish while nobody watches; then one replica follows everything.
  finish(8, 12);
  RunningProcess single = replica(0, 1);
  INFO(single.process->Output());
  REQUIRE_FALSE(single.url.empty());
  // What replica 1 counted is not counted again; what replica 0 missed, and the downtime's jobs, count once.
  const double expected = 12 - second_owns;
  CHECK(Eventually([&] {
    const Metrics metrics = Scrape(single);
    return Value(metrics, Finished("Failed")) == expected && Sum(metrics, tasks) == 2 * expected;
  }));
  WaitForListWalks(sim, 3);
  const Metrics metrics = Scrape(single);
  CHECK(Value(metrics, Finished("Failed")) == expected);
  CHECK(Sum(metrics, tasks) == 2 * expected);
  CHECK(single.process->Output().find("keep the history another shard's state file holds") != std::string::npos);
  CHECK(single.process->Stop(SIGTERM) == 0);

  // While nobody watches, jobs 12-15 finish, and six jobs are created and finish: no file knows those. A replica
  // new to the directory (shard 2 of 3) starts where the files had got to: it counts both kinds of its own.
  finish(12, 16);
  std::vector<std::string> created;
  for (int i = 0; i < 6; ++i) {
    created.push_back("late-" + std::to_string(i));
    // A second before the replica starts: before its own start's point, after the point the files had got to.
    Put(sim, created.back(), Doc(created.back(), "Failed", Now() - 1, Now() - 1, kTwoTasksOneFailed));
  }
  RunningProcess added = replica(2, 3);
  INFO(added.process->Output());
  REQUIRE_FALSE(added.url.empty());
  REQUIRE(Eventually([&] { return Sum(Scrape(added), "ief_batch_job_tasks_by_status") > 0; }));
  const long added_owns = owned(added, ids(12, 16)) + owned(added, created);
  INFO("shard 2 of 3 follows " << added_owns << " of the jobs that finished while nobody watched");
  CHECK(Eventually([&] {
    const Metrics metrics = Scrape(added);
    return Value(metrics, Finished("Failed")).value_or(0) == added_owns && Sum(metrics, tasks) == 2 * added_owns;
  }));
  CHECK(added.process->Output().find("A replica new to the storage directory") != std::string::npos);
}

TEST_CASE("history: a damaged state file is moved aside, the exporter serves, and old finishes are not counted") {
  RunningProcess sim = StartSimulator();
  REQUIRE_FALSE(sim.url.empty());
  Put(sim, "old", Doc("old", "Failed", Now() - 3600, Now() - 7200));
  TempDirectory storage;
  const std::string state = storage / "history-shard-0.json";
  for (const std::string& damage : {std::string(""), std::string("{\"format\":\"ief_exporter history\",\"vers"),
                                    std::string("\x89PNG\r\n\x1a\n garbage")}) {
    { std::ofstream(state, std::ios::binary) << damage; }
    TempFile config(Config(sim.url), ".yml");
    RunningProcess exporter = StartExporter(config.path(), {"--storage.path=" + storage.path()});
    INFO(exporter.process->Output());
    REQUIRE_FALSE(exporter.url.empty());
    const Metrics metrics = Scrape(exporter);
    CHECK(Value(metrics, "ief_exporter_state_read_errors_total") == 1);
    CHECK(Sum(metrics, "ief_batch_jobs_finished_total") == 0);
    CHECK(exporter.process->Stop(SIGTERM) == 0);
    CHECK(std::filesystem::exists(state));  // written afresh at the stop
  }
  int aside = 0;
  for (const auto& entry : std::filesystem::directory_iterator(storage.path())) {
    aside += entry.path().filename().string().find(".bad-") != std::string::npos;
  }
  CHECK(aside >= 1);  // moved aside (two within one second share a name)
}

TEST_CASE("history: another shard's damaged state file is counted and left where it is") {
  RunningProcess sim = StartSimulator();
  REQUIRE_FALSE(sim.url.empty());
  TempDirectory storage;
  const std::string sibling = storage / "history-shard-5.json";
  { std::ofstream(sibling, std::ios::binary) << "{\"format\":\"ief_exporter history\",\"vers"; }
  { std::ofstream(storage / "history-shard-007.json", std::ios::binary) << "not a shard's name: never read"; }
  TempFile config(Config(sim.url), ".yml");
  RunningProcess exporter = StartExporter(config.path(), {"--storage.path=" + storage.path()});
  INFO(exporter.process->Output());
  REQUIRE_FALSE(exporter.url.empty());
  CHECK(Value(Scrape(exporter), "ief_exporter_state_read_errors_total") == 1);
  CHECK(exporter.process->Output().find("Another shard's state file cannot be read") != std::string::npos);
  CHECK(exporter.process->Stop(SIGTERM) == 0);
  CHECK(std::filesystem::exists(sibling));  // not ours to move aside
}

TEST_CASE("history: an unwritable storage path holds history back, logged and counted, and the exporter serves") {
  RunningProcess sim = StartSimulator();
  REQUIRE_FALSE(sim.url.empty());
  Put(sim, "a", Doc("a", "Running", Now() - 10, Now() - 100));
  TempFile config(Config(sim.url), ".yml");
  RunningProcess exporter = StartExporter(config.path(), {"--storage.path=/proc/ief-exporter-cannot-write-here"});
  INFO(exporter.process->Output());
  REQUIRE_FALSE(exporter.url.empty());
  Put(sim, "a", Doc("a", "Failed", Now(), Now() - 100));
  // The job's status shows at once; its finish waits for a save that cannot happen (published, it could be
  // counted again by the next start, which would read an older file).
  CHECK(Eventually([&] {
    const Metrics metrics = Scrape(exporter);
    return Value(metrics, "ief_batch_job_status{project_id=\"" + std::string(kProject) + "\",job_id=\"a\",status=\"Failed\"}") == 1 &&
           Value(metrics, "ief_exporter_state_write_errors_total") >= 2;
  }));
  CHECK(Value(Scrape(exporter), Finished("Failed")).value_or(0) == 0);
  CHECK(exporter.process->Output().find("history is held back until a write succeeds") != std::string::npos);
  CHECK(exporter.process->Stop(SIGTERM) == 0);
}

TEST_CASE("history: two exporters never share a storage path") {
  RunningProcess sim = StartSimulator();
  TempDirectory storage;
  TempFile config(Config(sim.url), ".yml");
  RunningProcess first = StartExporter(config.path(), {"--storage.path=" + storage.path()});
  REQUIRE_FALSE(first.url.empty());
  ChildProcess second({IEF_EXPORTER_BIN, "--config.file=" + config.path(), "--web.listen-address=127.0.0.1:0",
                       "--storage.path=" + storage.path()});
  CHECK(second.WaitForExit() == 1);
  CHECK(second.Output().find("is locked") != std::string::npos);
}

TEST_CASE("history: a job created while the exporter was down counts all its tasks, even when its first details "
          "come only after the next restart") {
  RunningProcess sim = StartSimulator();
  REQUIRE_FALSE(sim.url.empty());
  TempDirectory storage;
  TempFile config(Config(sim.url), ".yml");
  const std::vector<std::string> storage_flag = {"--storage.path=" + storage.path()};

  RunningProcess first = StartExporter(config.path(), storage_flag);  // an empty project
  REQUIRE_FALSE(first.url.empty());
  WaitForListWalks(sim, 1);
  CHECK(first.process->Stop(SIGTERM) == 0);

  const std::string id = "late-job";  // created while the exporter is down; its details answer 500 for a while
  const long created = Now();
  Put(sim, id, Doc(id, "Running", created, created, kTwoTasksRunning));
  REQUIRE(Http("PUT", sim.url + "/sim/faults/" + id, R"({"kind":"http_500"})").status == 200);
  RunningProcess second = StartExporter(config.path(), storage_flag);
  REQUIRE_FALSE(second.url.empty());
  REQUIRE(Eventually([&] { return SimulatorCount(sim, id) >= 1; }));  // listed; its details failed
  // Another job moves the API time the exporter has seen (its watermark) past the late job's creation.
  REQUIRE(Eventually([&] { return Now() > created; }));
  Put(sim, "next-job", Doc("next-job", "Running", Now(), Now()));
  WaitForListWalks(sim, 2);
  CHECK(second.process->Stop(SIGTERM) == 0);

  Put(sim, id, Doc(id, "Failed", Now(), created, kTwoTasksOneFailed));
  REQUIRE(Http("DELETE", sim.url + "/sim/faults/" + id).status == 200);
  RunningProcess third = StartExporter(config.path(), storage_flag);
  INFO(third.process->Output());
  REQUIRE_FALSE(third.url.empty());
  CHECK(Eventually([&] {
    const Metrics metrics = Scrape(third);
    return Value(metrics, Finished("Failed")) == 1 && Sum(metrics, "ief_batch_tasks_finished_total") == 2;
  }));
  WaitForListWalks(sim, 3);
  CHECK(Sum(Scrape(third), "ief_batch_tasks_finished_total") == 2);  // and nothing more
}
