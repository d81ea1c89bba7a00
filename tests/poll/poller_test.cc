#include "poll/poller.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/manual_clock.h"
#include "support/process.h"

namespace {

using ief::ErrorKind;
using ief::FetchError;
using ief::RequestPriority;
using namespace std::chrono_literals;

ief::BatchJob Listed(const std::string& id, const std::string& status, int64_t updated = 1, std::string name = "") {
  ief::BatchJob job;
  job.job_id = id;
  job.job_name = name.empty() ? "job-" + id : name;
  job.job_type = "node_upgrade";
  job.status = status;
  job.status_last_updated_at = updated;
  job.created_at = 1700000000;
  return job;
}

// Scripted answers per job id, shared by every worker's fetcher.
struct Script {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, std::vector<ief::Fetched<ief::BatchJob>>> answers;  // front to back; the last repeats
  int in_flight = 0;
  int max_in_flight = 0;
  int calls = 0;
  int wait_for_peers = 0;  // >0: fetches wait (bounded) until this many have been in flight at once
  bool hold_details = false;  // fetches wait until this is cleared
  // ListBatchJob: what the project lists; jobs without a scripted answer are served from here (404 if absent).
  std::vector<ief::BatchJob> listing;
  bool list_fails = false;
  int list_calls = 0;
  std::map<std::string, int> fetches;                                // per job id
  std::vector<std::pair<std::string, RequestPriority>> fetch_order;  // what was fetched, with which priority

  ief::Fetched<ief::BatchJobList> Page(long offset, long limit) {
    std::lock_guard<std::mutex> lock(mutex);
    ++list_calls;
    if (list_fails) return Failure(ErrorKind::kHttpStatus, "HTTP 503");
    ief::BatchJobList page;
    page.job_count = static_cast<int64_t>(listing.size());
    for (long i = offset; i < offset + limit && i < static_cast<long>(listing.size()); ++i) {
      page.jobs.push_back(listing[i]);
    }
    return page;
  }

  ief::Fetched<ief::BatchJob> FromListing(const std::string& job_id) {
    for (const auto& summary : listing) {
      if (summary.job_id == job_id) return summary;
    }
    return Failure(ErrorKind::kNotFound, "HTTP 404");
  }

  ief::Fetched<ief::BatchJob> Next(const std::string& job_id, RequestPriority priority) {
    std::unique_lock<std::mutex> lock(mutex);
    ++calls;
    max_in_flight = std::max(max_in_flight, ++in_flight);
    changed.notify_all();
    if (wait_for_peers > 0) {
      changed.wait_for(lock, std::chrono::seconds(5), [&] { return max_in_flight >= wait_for_peers; });
    }
    changed.wait(lock, [&] { return !hold_details; });
    --in_flight;
    ++fetches[job_id];
    fetch_order.emplace_back(job_id, priority);
    auto scripted = answers.find(job_id);
    if (scripted == answers.end()) return FromListing(job_id);
    auto& queue = scripted->second;
    ief::Fetched<ief::BatchJob> result = queue.front();
    if (queue.size() > 1) queue.erase(queue.begin());
    return result;
  }

  void Release() {
    std::lock_guard<std::mutex> lock(mutex);
    hold_details = false;
    changed.notify_all();
  }

  static ief::Fetched<ief::BatchJob> Success(const std::string& id, const std::string& status) {
    return Listed(id, status);
  }
  static FetchError Failure(ErrorKind kind, std::string message) {
    return FetchError{.kind = kind, .message = std::move(message)};
  }
};

class ScriptedFetcher : public ief::JobFetcher {
 public:
  explicit ScriptedFetcher(Script& script) : script_(script) {}
  ief::Fetched<ief::BatchJob> Fetch(const ief::ProjectContext&, const std::string& job_id,
                                    RequestPriority priority) override {
    return script_.Next(job_id, priority);
  }
  ief::Fetched<ief::BatchJobList> ListPage(const ief::ProjectContext&, long offset, long limit) override {
    return script_.Page(offset, limit);
  }

 private:
  Script& script_;
};

ief::TrackedProject Project(const std::string& id, std::vector<std::string> jobs,
                            std::shared_ptr<ief::EndpointRateLimiter> limiter = nullptr) {
  auto context = std::make_shared<ief::ProjectContext>();
  context->project_id = id;
  context->rate_limiter = std::move(limiter);
  return {context, std::move(jobs), {}};
}

ief::JobFetcherFactory Factory(Script& script) {
  return [&script](const ief::Cancellation*) { return std::make_unique<ScriptedFetcher>(script); };
}

ief::TrackedProject Discovering(const std::string& id, std::vector<std::string> explicit_jobs = {},
                                std::string name_regex = "",
                                std::shared_ptr<ief::EndpointRateLimiter> limiter = nullptr) {
  ief::TrackedProject project = Project(id, std::move(explicit_jobs), std::move(limiter));
  project.discovery.enabled = true;
  project.discovery.interval = std::chrono::milliseconds(0);  // list at every round
  project.discovery.name_regex = std::move(name_regex);
  return project;
}

std::vector<std::string> TrackedIds(const ief::Snapshot& snapshot) {
  std::vector<std::string> ids;
  for (const auto& job : snapshot.jobs) ids.push_back(job->job_id + "/" + std::string(ief::JobSourceName(job->source)));
  return ids;
}

const ief::JobSnapshot& Job(const ief::Snapshot& snapshot, const std::string& job_id) {
  for (const auto& job : snapshot.jobs) {
    if (job->job_id == job_id) return *job;
  }
  FAIL("no job " << job_id);
  throw std::logic_error("unreachable");
}

struct RecordingObserver : ief::PollObserver {
  std::atomic<int> invalid{0};
  void OnInvalidJobId(const std::string&) override { ++invalid; }
};

// A poller, and the round that tests run by hand.
struct Fixture {
  explicit Fixture(std::vector<ief::TrackedProject> projects, ief::PollerOptions options = {},
                   const ief::Snapshot* previous = nullptr) {
    options.clock = &clock;
    options.observer = &observer;
    poller = std::make_unique<ief::Poller>(options, std::move(projects), Factory(script), store, previous);
  }
  // A round and everything it queued, background work included.
  void Round() {
    poller->RunRound();
    poller->WaitUntilIdle();
  }
  std::shared_ptr<const ief::Snapshot> Snapshot() const { return store.Load(); }

  Script script;
  ief::testing::ManualClock clock;
  RecordingObserver observer;
  ief::SnapshotStore store;
  std::unique_ptr<ief::Poller> poller;
};

}  // namespace

TEST_CASE("a failed fetch keeps the last good values and marks the job failed") {
  Fixture f({Project("p", {"a"})});
  f.script.answers["a"] = {Script::Success("a", "Running"), Script::Failure(ErrorKind::kHttpStatus, "HTTP 500")};

  CHECK_FALSE(f.poller->FirstRoundDone());
  CHECK(f.Snapshot()->jobs.size() == 1);
  CHECK(f.Snapshot()->jobs[0]->last_good == nullptr);

  f.Round();
  CHECK(f.poller->FirstRoundDone());
  auto first = f.Snapshot();
  CHECK(Job(*first, "a").last_fetch_ok);
  CHECK(Job(*first, "a").has_details);
  CHECK(Job(*first, "a").last_good->status == "Running");
  CHECK(Job(*first, "a").last_success == f.clock.Wall());
  CHECK(first->projects[0].up);

  const ief::WallTime first_success = f.clock.Wall();
  f.clock.Advance(30s);
  f.Round();  // a configured Running job no list covers is fetched every round
  auto second = f.Snapshot();
  CHECK_FALSE(Job(*second, "a").last_fetch_ok);
  REQUIRE(Job(*second, "a").last_good != nullptr);
  CHECK(Job(*second, "a").last_good->status == "Running");
  CHECK(Job(*second, "a").last_success == first_success);
  CHECK_FALSE(second->projects[0].up);
  // The earlier snapshot is immutable: a scrape holding it still sees the old state.
  CHECK(Job(*first, "a").last_fetch_ok);
}

TEST_CASE("a 404 leaves the project up, transport errors take it down") {
  Fixture f({Project("p", {"gone"})});
  f.script.answers["gone"] = {Script::Failure(ErrorKind::kNotFound, "HTTP 404")};
  f.Round();
  CHECK(f.Snapshot()->projects[0].has_answered);
  CHECK(f.Snapshot()->projects[0].up);
  CHECK_FALSE(Job(*f.Snapshot(), "gone").last_fetch_ok);
  CHECK(Job(*f.Snapshot(), "gone").last_good == nullptr);

  f.script.answers["gone"] = {Script::Failure(ErrorKind::kTransport, "Connection refused")};
  f.Round();  // skipped: backing off after the failure
  f.Round();
  CHECK_FALSE(f.Snapshot()->projects[0].up);
}

TEST_CASE("at most max_concurrency fetches are in flight") {
  std::vector<std::string> jobs = {"a", "b", "c", "d", "e", "f"};
  Fixture f({Project("p", jobs)}, {.max_concurrency = 2});
  f.script.wait_for_peers = 2;  // the first fetches wait for a partner, so two workers surely overlap
  f.Round();
  CHECK(f.script.calls == 6);
  CHECK(f.script.max_in_flight == 2);
}

TEST_CASE("snapshots list jobs sorted by project and job id") {
  Fixture f({Project("zeta", {"b", "a"}), Project("alpha", {"c"})});
  auto snapshot = f.Snapshot();
  REQUIRE(snapshot->jobs.size() == 3);
  CHECK(snapshot->jobs[0]->project_id + "/" + snapshot->jobs[0]->job_id == "alpha/c");
  CHECK(snapshot->jobs[1]->project_id + "/" + snapshot->jobs[1]->job_id == "zeta/a");
  CHECK(snapshot->jobs[2]->project_id + "/" + snapshot->jobs[2]->job_id == "zeta/b");
  CHECK(snapshot->projects[0].project_id == "alpha");
}

TEST_CASE("a round longer than the interval counts as an overrun") {
  Fixture f({Project("p", {"a"})}, {.poll_interval = 0ms});
  f.script.answers["a"] = {Script::Success("a", "Running")};
  f.clock.Advance(1ms);  // the manual clock moves only by hand: make the rounds last
  f.Round();
  f.Round();
  CHECK(f.Snapshot()->has_completed_round);
}

TEST_CASE("the scheduler polls every interval until stopped") {
  Script script;
  script.answers["a"] = {Script::Success("a", "Running")};
  ief::SnapshotStore store;
  ief::Poller poller({.poll_interval = 20ms}, {Project("p", {"a"})}, Factory(script), store);
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
  Fixture f({Project("p", {"a"})});
  f.script.answers["a"] = {Script::Failure(ErrorKind::kHttpStatus, "HTTP 500")};
  std::vector<int> calls_after_round;
  for (int round = 0; round < 9; ++round) {
    f.Round();
    calls_after_round.push_back(f.script.calls);
  }
  // Fetched in rounds 1, 2, 4 and 8: skips of 0, 1, 3, then capped at 3.
  CHECK(calls_after_round == std::vector<int>{1, 2, 2, 3, 3, 3, 3, 4, 4});

  f.script.answers["a"] = {Script::Success("a", "Running")};
  f.Round();  // rounds 10 and 11 are still skipped
  f.Round();
  CHECK(f.script.calls == 4);
  f.Round();  // round 12 fetches and succeeds
  CHECK(f.script.calls == 5);
  f.Round();  // and success ends the back-off
  CHECK(f.script.calls == 6);
}

TEST_CASE("a poller built after a reload starts from the previous snapshot, its details counted as fresh") {
  Fixture first({Discovering("p", {"a", "gone"})});
  first.script.listing = {Listed("a", "Running"), Listed("found", "Running")};
  first.Round();
  auto previous = first.Snapshot();

  Fixture second({Discovering("p", {"a", "new"})}, {}, previous.get());
  second.script.listing = first.script.listing;
  auto seeded = second.Snapshot();
  CHECK(TrackedIds(*seeded) == std::vector<std::string>{"a/config", "found/discovery", "new/config"});
  CHECK(Job(*seeded, "a").last_good->status == "Running");  // carried over, no gap
  CHECK(Job(*seeded, "found").has_details);
  CHECK(Job(*seeded, "new").last_good == nullptr);
  CHECK(seeded->projects[0].has_answered);
  second.Round();
  // Nothing changed upstream and nothing is due for a refresh: only the new configured job is fetched.
  CHECK(second.script.fetches == std::map<std::string, int>{{"new", 1}});
}

TEST_CASE("a reload that changes how jobs are rendered fetches the carried details again, in the background") {
  Fixture first({Discovering("p")});
  first.script.listing = {Listed("a", "Successful")};
  first.Round();
  auto previous = first.Snapshot();
  Fixture second({Discovering("p")}, {.rerender_carried_jobs = true}, previous.get());
  second.script.listing = first.script.listing;
  second.Round();
  CHECK(second.script.fetch_order ==
        std::vector<std::pair<std::string, RequestPriority>>{{"a", RequestPriority::kBackground}});
}

TEST_CASE("discovery adds listed jobs that match, and drops those that leave the list") {
  Fixture f({Discovering("p", {"x"}, "nightly-.*")});
  f.script.listing = {Listed("a", "Running", 1, "nightly-a"), Listed("b", "Running", 1, "adhoc-b"),
                      Listed("c", "Successful", 1, "nightly-c")};
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"a/discovery", "c/discovery", "x/config"});
  CHECK(Job(*f.Snapshot(), "a").last_good->status == "Running");

  f.script.listing.erase(f.script.listing.begin());  // "a" deleted upstream
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"c/discovery", "x/config"});
  CHECK(Job(*f.Snapshot(), "x").last_fetch_ok == false);  // configured, answers 404: stays, failing
}

TEST_CASE("a discovered job that answers 404 is dropped") {
  Fixture f({Discovering("p")});
  f.script.listing = {Listed("a", "Running")};
  f.script.answers["a"] = {Script::Failure(ErrorKind::kNotFound, "HTTP 404")};
  f.Round();
  CHECK(f.Snapshot()->jobs.empty());
}

TEST_CASE("a job is shown with its list values as soon as the list shows it, before its details") {
  Fixture f({Discovering("p")});
  f.script.listing = {Listed("a", "Running", 7)};
  f.script.hold_details = true;
  f.poller->RunRound();  // the details of jobs found at start-up are background work: the round does not wait
  CHECK(f.poller->FirstRoundDone());
  auto snapshot = f.Snapshot();
  const ief::JobSnapshot& listed = Job(*snapshot, "a");
  REQUIRE(listed.last_good != nullptr);
  CHECK(listed.last_good->status == "Running");
  CHECK(listed.last_good->status_last_updated_at == 7);
  CHECK_FALSE(listed.has_details);
  CHECK(listed.last_fetch_ok);
  f.script.Release();
  f.poller->WaitUntilIdle();
  CHECK(Job(*f.Snapshot(), "a").has_details);
}

TEST_CASE("the list decides: only jobs whose summary changed are fetched - active ones are refreshed now and then") {
  Fixture f({Discovering("p")}, {.active_refresh_interval = 5min});
  f.script.listing = {Listed("active", "Running"), Listed("done", "Successful", 5), Listed("failed", "Failed", 7)};
  f.Round();  // first sight: everything is fetched once
  CHECK(f.script.fetches == std::map<std::string, int>{{"active", 1}, {"done", 1}, {"failed", 1}});
  for (int i = 0; i < 5; ++i) {
    f.clock.Advance(30s);
    f.Round();
  }
  CHECK(f.script.fetches == std::map<std::string, int>{{"active", 1}, {"done", 1}, {"failed", 1}});
  CHECK(f.script.list_calls == 6);
  CHECK(Job(*f.Snapshot(), "active").last_success == f.clock.Wall());  // the list confirmed it

  f.script.listing[0].task_success_count = 1;  // a task finished
  f.script.listing[2] = Listed("failed", "Running", 9);  // retried upstream
  f.Round();
  CHECK(f.script.fetches == std::map<std::string, int>{{"active", 2}, {"done", 1}, {"failed", 2}});
  CHECK(Job(*f.Snapshot(), "failed").last_good->status == "Running");

  f.clock.Advance(5min);  // the details of active jobs are now old enough for a refresh; finished ones never are
  f.Round();
  CHECK(f.script.fetches == std::map<std::string, int>{{"active", 3}, {"done", 1}, {"failed", 3}});
  CHECK(f.script.fetch_order.back().second == RequestPriority::kBackground);
}

TEST_CASE("active_refresh_interval 0s fetches every active job every round, at urgent priority") {
  Fixture f({Discovering("p")}, {.active_refresh_interval = 0s});
  f.script.listing = {Listed("active", "Running"), Listed("done", "Successful")};
  for (int i = 0; i < 4; ++i) f.Round();
  CHECK(f.script.fetches == std::map<std::string, int>{{"active", 4}, {"done", 1}});
  CHECK(f.script.fetch_order.back() == std::pair<std::string, RequestPriority>{"active", RequestPriority::kUrgent});
}

TEST_CASE("a list and details that disagree for good cost a bounded number of fetches") {
  Fixture f({Discovering("p")});
  f.script.listing = {Listed("a", "Successful", 10)};
  f.script.answers["a"] = {Script::Success("a", "Successful")};  // its details say status_last_updated_at 1
  for (int i = 0; i < 10; ++i) f.Round();
  CHECK(f.script.fetches["a"] == 1 + ief::kMaxFetchesPerListing - 1);
  f.script.listing[0].status_last_updated_at = 11;  // a real change is still followed
  f.Round();
  CHECK(f.script.fetches["a"] == 1 + ief::kMaxFetchesPerListing);
}

TEST_CASE("urgent work goes first - the start-up fill waits for its share of the endpoint's rate") {
  ief::testing::ManualClock limiter_clock;  // never moves unless told: background slots run out
  auto limiter = std::make_shared<ief::EndpointRateLimiter>(1000, limiter_clock);
  Fixture f({Discovering("p", {}, "", limiter)});
  for (int i = 0; i < 5; ++i) f.script.listing.push_back(Listed("old" + std::to_string(i), "Successful"));
  f.poller->RunRound();  // one background slot is free at first: at most one of the fill is fetched
  f.script.listing.push_back(Listed("fresh", "Running"));
  f.script.listing[0].status = "Failed";  // changed before its first details came
  f.poller->RunRound();
  {
    std::lock_guard<std::mutex> lock(f.script.mutex);
    CHECK(f.script.fetches["fresh"] == 1);  // new after the first list: urgent
    CHECK(f.script.fetches.size() <= 3);    // the fill is still waiting for background slots
  }
  // As time passes, background slots come free and the fill completes.
  CHECK(ief::testing::Eventually([&] {
    limiter_clock.Advance(1s);
    std::lock_guard<std::mutex> lock(f.script.mutex);
    return f.script.fetches.size() == 6;
  }));
}

TEST_CASE("configured jobs of a project without discovery are read through the list when that is cheaper") {
  Fixture f({Project("p", {"a", "b", "c"}), Project("q", {"single"})});
  f.script.listing = {Listed("a", "Running"), Listed("b", "Running"), Listed("c", "Running"),
                      Listed("single", "Running"), Listed("unrelated", "Running")};
  f.Round();  // details first
  CHECK(f.script.list_calls == 0);
  f.Round();
  f.Round();
  // p: 3 active jobs cost 3 calls a round, its list walk 1: the list is read and nothing changed. q: 1 active
  // job costs 1 call, the same as a list walk: it is fetched directly.
  CHECK(f.script.list_calls == 2);
  CHECK(f.script.fetches == std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}, {"single", 3}});
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"a/config", "b/config", "c/config", "single/config"});
}

TEST_CASE("ids from the list that are not one safe path segment are skipped, counted and logged once") {
  Fixture f({Discovering("p")});
  f.script.listing = {Listed("../../../../etc/passwd", "Running"), Listed("a?b=c", "Running"),
                      Listed(std::string("nul\0byte", 8), "Running"), Listed(std::string(10000, 'x'), "Running"),
                      Listed("good", "Running")};
  f.Round();
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"good/discovery"});
  CHECK(f.observer.invalid == 8);  // four a round
  CHECK(f.script.fetches == std::map<std::string, int>{{"good", 1}});
}

TEST_CASE("a failed listing keeps the tracked jobs") {
  Fixture f({Discovering("p")});
  f.script.listing = {Listed("a", "Successful")};
  f.Round();
  f.script.list_fails = true;
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"a/discovery"});
  CHECK_FALSE(f.Snapshot()->projects[0].up);
}

TEST_CASE("finished configured jobs without a list are re-read only every terminal_recheck_interval") {
  Fixture f({Project("p", {"busy", "done"})}, {.terminal_recheck_interval = 600s});
  f.script.answers["done"] = {Script::Success("done", "Successful")};
  f.script.answers["busy"] = {Script::Success("busy", "Running")};
  for (int i = 0; i < 10; ++i) {
    f.Round();
    f.clock.Advance(30s);
  }
  CHECK(f.script.fetches["busy"] == 10);
  CHECK(f.script.fetches["done"] == 1);
  f.clock.Advance(300s);
  f.Round();
  CHECK(f.script.fetches["done"] == 2);
}

TEST_CASE("shards split configured and discovered jobs with no overlap and no gap") {
  std::vector<std::string> explicit_jobs;
  for (int i = 0; i < 20; ++i) explicit_jobs.push_back("e" + std::to_string(i));
  std::multiset<std::string> all;
  for (int shard = 0; shard < 2; ++shard) {
    Fixture f({Discovering("p", explicit_jobs)}, {.shard = shard, .total_shards = 2});
    for (int i = 0; i < 20; ++i) f.script.listing.push_back(Listed("d" + std::to_string(i), "Running"));
    for (const auto& id : explicit_jobs) f.script.answers[id] = {Script::Success(id, "Running")};
    f.Round();
    auto ids = TrackedIds(*f.Snapshot());
    CHECK(ids.size() > 5);
    all.insert(ids.begin(), ids.end());
  }
  CHECK(all.size() == 40);
  CHECK(std::set<std::string>(all.begin(), all.end()).size() == 40);
}
