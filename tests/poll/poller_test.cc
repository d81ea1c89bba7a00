#include "poll/poller.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace {

using Kind = ief::FetchResult::Kind;

// Scripted answers per job id, shared by every worker's fetcher.
struct Script {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, std::vector<ief::FetchResult>> answers;  // consumed front to back; the last one repeats
  int in_flight = 0;
  int max_in_flight = 0;
  int calls = 0;
  int wait_for_peers = 0;  // >0: fetches wait (bounded) until this many have been in flight at once

  ief::FetchResult Next(const std::string& job_id) {
    std::unique_lock<std::mutex> lock(mutex);
    ++calls;
    max_in_flight = std::max(max_in_flight, ++in_flight);
    changed.notify_all();
    if (wait_for_peers > 0) {
      changed.wait_for(lock, std::chrono::seconds(5), [&] { return max_in_flight >= wait_for_peers; });
    }
    --in_flight;
    auto& queue = answers[job_id];
    if (queue.empty()) return Failure(Kind::kTransportError, "no script");
    ief::FetchResult result = queue.front();
    if (queue.size() > 1) queue.erase(queue.begin());
    return result;
  }

  static ief::FetchResult Success(const std::string& status) {
    ief::FetchResult result;
    result.kind = Kind::kOk;
    result.job.job_id = "j";
    result.job.status = status;
    return result;
  }
  static ief::FetchResult Failure(Kind kind, std::string message) {
    ief::FetchResult result;
    result.kind = kind;
    result.message = std::move(message);
    return result;
  }
};

class ScriptedFetcher : public ief::JobFetcher {
 public:
  explicit ScriptedFetcher(Script& script) : script_(script) {}
  ief::FetchResult Fetch(const ief::ProjectContext&, const std::string& job_id) override {
    return script_.Next(job_id);
  }

 private:
  Script& script_;
};

ief::TrackedProject Project(const std::string& id, std::vector<std::string> jobs) {
  auto context = std::make_shared<ief::ProjectContext>();
  context->project_id = id;
  return {context, std::move(jobs), {}};
}

ief::JobFetcherFactory Factory(Script& script) {
  return [&script](ief::Cancellation*) { return std::make_unique<ScriptedFetcher>(script); };
}

const ief::JobSnapshot& Job(const ief::Snapshot& snapshot, const std::string& job_id) {
  for (const auto& job : snapshot.jobs) {
    if (job->job_id == job_id) return *job;
  }
  FAIL("no job " << job_id);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("a failed fetch keeps the last good values and marks the job failed") {
  Script script;
  script.answers["a"] = {Script::Success("Running"), Script::Failure(Kind::kHttpError, "HTTP 500")};
  ief::SnapshotStore store;
  double now = 1000;
  ief::Poller poller({}, {Project("p", {"a"})}, Factory(script), store, [&] { return now; });

  CHECK_FALSE(poller.FirstRoundDone());
  CHECK(store.Load()->jobs.size() == 1);
  CHECK(store.Load()->jobs[0]->last_good == nullptr);

  poller.RunRound();
  CHECK(poller.FirstRoundDone());
  auto first = store.Load();
  CHECK(Job(*first, "a").last_fetch_ok);
  CHECK(Job(*first, "a").last_good->status == "Running");
  CHECK(Job(*first, "a").last_success_unix == 1000);
  CHECK(first->projects[0].up);

  now = 1030;
  poller.RunRound();
  auto second = store.Load();
  CHECK_FALSE(Job(*second, "a").last_fetch_ok);
  REQUIRE(Job(*second, "a").last_good != nullptr);
  CHECK(Job(*second, "a").last_good->status == "Running");
  CHECK(Job(*second, "a").last_success_unix == 1000);
  CHECK_FALSE(second->projects[0].up);
  // The earlier snapshot is immutable: a scrape holding it still sees the old state.
  CHECK(Job(*first, "a").last_fetch_ok);
}

TEST_CASE("a 404 leaves the project up, transport errors take it down") {
  Script script;
  script.answers["gone"] = {Script::Failure(Kind::kNotFound, "HTTP 404")};
  ief::SnapshotStore store;
  ief::Poller poller({}, {Project("p", {"gone"})}, Factory(script), store);
  poller.RunRound();
  CHECK(store.Load()->projects[0].has_answered);
  CHECK(store.Load()->projects[0].up);
  CHECK_FALSE(Job(*store.Load(), "gone").last_fetch_ok);
  CHECK(Job(*store.Load(), "gone").last_good == nullptr);

  script.answers["gone"] = {Script::Failure(Kind::kTransportError, "Connection refused")};
  poller.RunRound();
  CHECK_FALSE(store.Load()->projects[0].up);
}

TEST_CASE("at most max_concurrency fetches are in flight") {
  Script script;
  script.wait_for_peers = 2;  // the first fetches wait for a partner, so two workers surely overlap
  std::vector<std::string> jobs = {"a", "b", "c", "d", "e", "f"};
  for (const auto& job : jobs) script.answers[job] = {Script::Success("Running")};
  ief::SnapshotStore store;
  ief::PollerOptions options;
  options.max_concurrency = 2;
  ief::Poller poller(options, {Project("p", jobs)}, Factory(script), store);
  poller.RunRound();
  CHECK(script.calls == 6);
  CHECK(script.max_in_flight == 2);
}

TEST_CASE("snapshots list jobs sorted by project and job id") {
  Script script;
  ief::SnapshotStore store;
  ief::Poller poller({}, {Project("zeta", {"b", "a"}), Project("alpha", {"c"})}, Factory(script), store);
  auto snapshot = store.Load();
  REQUIRE(snapshot->jobs.size() == 3);
  CHECK(snapshot->jobs[0]->project_id + "/" + snapshot->jobs[0]->job_id == "alpha/c");
  CHECK(snapshot->jobs[1]->project_id + "/" + snapshot->jobs[1]->job_id == "zeta/a");
  CHECK(snapshot->jobs[2]->project_id + "/" + snapshot->jobs[2]->job_id == "zeta/b");
  CHECK(snapshot->projects[0].project_id == "alpha");
}

TEST_CASE("a round longer than the interval counts as an overrun") {
  Script script;
  script.answers["a"] = {Script::Success("Running")};
  ief::SnapshotStore store;
  ief::PollerOptions options;
  options.poll_interval = std::chrono::milliseconds(0);
  ief::Poller poller(options, {Project("p", {"a"})}, Factory(script), store);
  poller.RunRound();
  poller.RunRound();
  CHECK(store.Load()->rounds_overrun == 2);
  CHECK(store.Load()->has_completed_round);
  CHECK(store.Load()->last_round_seconds > 0);
}

TEST_CASE("the scheduler polls every interval until stopped") {
  Script script;
  script.answers["a"] = {Script::Success("Running")};
  ief::SnapshotStore store;
  ief::PollerOptions options;
  options.poll_interval = std::chrono::milliseconds(20);
  ief::Poller poller(options, {Project("p", {"a"})}, Factory(script), store);
  poller.Start();
  {
    std::unique_lock<std::mutex> lock(script.mutex);
    CHECK(script.changed.wait_for(lock, std::chrono::seconds(10), [&] { return script.calls >= 3; }));
  }
  poller.Stop();
  int calls_at_stop;
  {
    std::lock_guard<std::mutex> lock(script.mutex);
    calls_at_stop = script.calls;
  }
  CHECK(poller.FirstRoundDone());
  // Stopped means stopped: a further Stop is harmless and nothing is fetched any more.
  poller.Stop();
  std::lock_guard<std::mutex> lock(script.mutex);
  CHECK(script.calls == calls_at_stop);
}

TEST_CASE("a job that keeps failing backs off for up to a few rounds") {
  Script script;
  script.answers["a"] = {Script::Failure(Kind::kHttpError, "HTTP 500")};
  ief::SnapshotStore store;
  ief::Poller poller({}, {Project("p", {"a"})}, Factory(script), store);
  std::vector<int> calls_after_round;
  for (int round = 0; round < 9; ++round) {
    poller.RunRound();
    calls_after_round.push_back(script.calls);
  }
  // Fetched in rounds 1, 2, 4 and 8: skips of 0, 1, 3, then capped at 3.
  CHECK(calls_after_round == std::vector<int>{1, 2, 2, 3, 3, 3, 3, 4, 4});

  script.answers["a"] = {Script::Success("Running")};
  poller.RunRound();  // rounds 10 and 11 are still skipped
  poller.RunRound();
  CHECK(script.calls == 4);
  poller.RunRound();  // round 12 fetches and succeeds
  CHECK(script.calls == 5);
  poller.RunRound();  // and success ends the back-off
  CHECK(script.calls == 6);
}

TEST_CASE("a poller built after a reload starts from the previous snapshot") {
  Script script;
  script.answers["a"] = {Script::Success("Running")};
  ief::SnapshotStore store;
  {
    ief::Poller first({}, {Project("p", {"a", "gone"})}, Factory(script), store);
    first.RunRound();
  }
  auto previous = store.Load();
  ief::Poller second({}, {Project("p", {"a", "new"})}, Factory(script), store, ief::SystemWallClock, previous.get());
  auto seeded = store.Load();
  REQUIRE(seeded->jobs.size() == 2);
  CHECK(Job(*seeded, "a").last_good->status == "Running");  // carried over, no gap
  CHECK(Job(*seeded, "new").last_good == nullptr);
  CHECK(seeded->projects[0].has_answered);
}
