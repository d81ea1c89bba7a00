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

// A list item. `updated` tells versions apart: it counts seconds from shortly before the fixtures' clocks start, so
// a finished job is recent enough to keep its series (finished_job_retention).
ief::BatchJob Listed(const std::string& id, const std::string& status, int64_t updated = 1, std::string name = "") {
  ief::BatchJob job;
  job.job_id = id;
  job.job_name = name.empty() ? "job-" + id : name;
  job.job_type = "node_upgrade";
  job.status = status;
  job.status_last_updated_at = 1699990000 + updated;
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
  bool omit_job_count = false;  // pages come without job_count
  int list_calls = 0;
  std::vector<long> list_offsets;  // of every page read
  std::map<std::string, int> fetches;                                // per job id
  std::vector<std::pair<std::string, RequestPriority>> fetch_order;  // what was fetched, with which priority

  ief::Fetched<ief::BatchJobList> Page(long offset, long limit) {
    std::lock_guard<std::mutex> lock(mutex);
    ++list_calls;
    list_offsets.push_back(offset);
    if (list_fails) return Failure(ErrorKind::kHttpStatus, "HTTP 503");
    ief::BatchJobList page;
    if (!omit_job_count) page.job_count = static_cast<int64_t>(listing.size());
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

// Records what the poller reports, as readable lines.
struct RecordingObserver : ief::PollObserver {
  std::atomic<int> invalid{0};
  std::mutex mutex;
  std::vector<std::string> events;
  void OnInvalidJobId(const std::string&) override { ++invalid; }
  void OnJobFinished(const ief::JobLabels& job, std::string_view status, std::optional<double> duration) override {
    Record("finished " + std::string(job.job_type) + " " + std::string(status) + " " +
           (duration ? std::to_string(static_cast<long>(*duration)) : "-"));
  }
  void OnJobRetried(const ief::JobLabels& job) override { Record("retried " + std::string(job.job_type)); }
  void OnJobStarted(const ief::JobLabels&, double wait) override {
    Record("started " + std::to_string(static_cast<long>(wait)));
  }
  void OnTasksFinished(const ief::JobLabels&, std::string_view status, std::string_view reason_class,
                       int64_t count) override {
    Record("tasks " + std::string(status) + " " + std::string(reason_class) + " " + std::to_string(count));
  }
  void OnNodeTaskFailed(const ief::JobLabels&, std::string_view target) override {
    Record("node " + std::string(target));
  }
  void Record(std::string event) {
    std::lock_guard<std::mutex> lock(mutex);
    events.push_back(std::move(event));
  }
  std::vector<std::string> Take() {
    std::lock_guard<std::mutex> lock(mutex);
    return std::exchange(events, {});
  }
};

// A poller, and the round that tests run by hand.
struct Fixture {
  // `previous`: the poller this one replaces (a reload): its last snapshot and its history are carried over.
  explicit Fixture(std::vector<ief::TrackedProject> projects, ief::PollerOptions options = {},
                   Fixture* previous = nullptr) {
    options.clock = &clock;
    if (options.tracking.started_at == ief::WallTime{}) options.tracking.started_at = clock.Wall();
    options.tracking.count_node_failures = true;
    options.observer = &observer;
    ief::PollerSeed seed;
    if (previous != nullptr) {
      previous->poller->Stop();
      previous->poller->Commit();
      carried = previous->Snapshot();
      seed = {carried.get(), previous->poller->History()};
    }
    poller = std::make_unique<ief::Poller>(options, std::move(projects), Factory(script), store, std::move(seed));
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
  std::shared_ptr<const ief::Snapshot> carried;
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
  Fixture f({Project("p", {"a"})}, {.tracking = {.poll_interval = 0ms}});
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
  ief::Poller poller({.tracking = {.poll_interval = 20ms}}, {Project("p", {"a"})}, Factory(script), store);
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

TEST_CASE("the poll interval is kept on the poller's clock: a test moves it, nothing sleeps") {
  Script script;
  script.answers["a"] = {Script::Success("a", "Running")};
  ief::SnapshotStore store;
  ief::testing::ManualClock clock;
  ief::Poller poller({.tracking = {.poll_interval = std::chrono::hours(1)}, .clock = &clock}, {Project("p", {"a"})},
                     Factory(script), store);
  auto calls = [&] {
    std::lock_guard<std::mutex> lock(script.mutex);
    return script.calls;
  };
  poller.Start();
  REQUIRE(ief::testing::Eventually([&] { return poller.FirstRoundDone(); }));
  CHECK(calls() == 1);
  for (int round = 2; round <= 3; ++round) {
    clock.Advance(std::chrono::hours(1));
    CHECK(ief::testing::Eventually([&] { return calls() == round; }));
  }
  poller.Stop();
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

  Fixture second({Discovering("p", {"a", "new"})}, {}, &first);
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
  Fixture second({Discovering("p")}, {.tracking = {.rerender_carried_jobs = true}}, &first);
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
  CHECK(listed.last_good->status_last_updated_at == 1699990007);
  CHECK_FALSE(listed.has_details);
  CHECK(listed.last_fetch_ok);
  f.script.Release();
  f.poller->WaitUntilIdle();
  CHECK(Job(*f.Snapshot(), "a").has_details);
}

TEST_CASE("the list decides: only jobs whose summary changed are fetched - active ones are refreshed now and then") {
  Fixture f({Discovering("p")}, {.tracking = {.active_refresh_interval = 5min}});
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
  Fixture f({Discovering("p")}, {.tracking = {.active_refresh_interval = 0s}});
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
  f.script.listing[0].status_last_updated_at = *f.script.listing[0].status_last_updated_at + 1;  // a real change
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
  Fixture f({Project("p", {"busy", "done"})}, {.tracking = {.terminal_recheck_interval = 600s}});
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
    Fixture f({Discovering("p", explicit_jobs)}, {.tracking = {.shard = shard, .total_shards = 2}});
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

// ---- History: what the counters behind ief_batch_jobs_finished_total and friends are told ----

namespace {

constexpr int64_t kStarted = 1700000000;  // the fixture's clock starts here: the exporter's start

ief::BatchJob Job(const std::string& id, const std::string& status, int64_t updated, int64_t created = kStarted) {
  ief::BatchJob job = Listed(id, status);
  job.status_last_updated_at = updated;
  job.created_at = created;
  return job;
}

ief::BatchTask Task(const std::string& id, const std::string& status, const std::string& reason = "",
                    const std::string& target = "") {
  ief::BatchTask task;
  task.task_id = id;
  task.status = status;
  task.reason = reason;
  task.target_id = target.empty() ? "node-" + id : target;
  return task;
}

ief::BatchJob WithTasks(ief::BatchJob job, std::vector<ief::BatchTask> tasks) {
  job.has_tasks = true;
  job.tasks = std::move(tasks);
  return job;
}

}  // namespace

TEST_CASE("a start-up that lists old finished jobs adds nothing, and a re-read of an unchanged job adds nothing") {
  Fixture f({Discovering("p")});
  for (int i = 0; i < 50; ++i) {
    f.script.listing.push_back(Job("old" + std::to_string(i), i % 2 ? "Failed" : "Successful", kStarted - 3600));
  }
  f.Round();
  f.Round();
  CHECK(f.observer.Take().empty());
}

TEST_CASE("jobs followed through their lives count one finish each, and a retry between two looks counts too") {
  Fixture f({Discovering("p")});
  f.script.listing = {Job("ok", "Waiting", kStarted - 10), Job("bad", "Running", kStarted - 10),
                      Job("again", "Running", kStarted - 10)};
  f.Round();
  CHECK(f.observer.Take().empty());  // all of it happened before the start

  f.clock.Advance(60s);
  f.script.listing[0] = Job("ok", "Running", kStarted + 50);  // it waited 50 s after its creation
  f.Round();
  CHECK(f.observer.Take() == std::vector<std::string>{"started 50"});

  f.script.listing[0] = Job("ok", "Successful", kStarted + 300);
  f.script.listing[1] = Job("bad", "Failed", kStarted + 300);
  f.script.listing[2] = Job("again", "Failed", kStarted + 300);
  f.Round();
  f.Round();  // nothing new: nothing counted
  auto events = f.observer.Take();
  std::sort(events.begin(), events.end());
  CHECK(events == std::vector<std::string>{"finished node_upgrade Failed 300", "finished node_upgrade Failed 300",
                                           "finished node_upgrade Successful 300"});

  // Retried and failed again between two looks: only the new status_last_updated_at shows it.
  f.script.listing[2] = Job("again", "Failed", kStarted + 900);
  f.Round();
  CHECK(f.observer.Take() == std::vector<std::string>{"retried node_upgrade", "finished node_upgrade Failed 900"});
  // Retried again, seen running this time, then successful: one retry, one finish.
  f.script.listing[2] = Job("again", "Running", kStarted + 1000);
  f.Round();
  f.script.listing[2] = Job("again", "Successful", kStarted + 1200);
  f.Round();
  CHECK(f.observer.Take() == std::vector<std::string>{"retried node_upgrade", "finished node_upgrade Successful 1200"});

  // Deleted upstream: the job goes, nothing is counted back.
  f.script.listing.clear();
  f.Round();
  CHECK(f.Snapshot()->jobs.empty());
  CHECK(f.observer.Take().empty());
}

TEST_CASE("a job first seen finishing after the start counts, and a reload counts nothing twice") {
  Fixture first({Discovering("p")});
  first.script.listing = {Job("late", "Successful", kStarted + 5)};
  first.Round();
  CHECK(first.observer.Take() == std::vector<std::string>{"finished node_upgrade Successful 5"});
  Fixture second({Discovering("p")}, {.tracking = {.started_at = ief::FromUnixSeconds(kStarted)}}, &first);
  second.script.listing = first.script.listing;
  second.Round();
  CHECK(second.observer.Take().empty());
}

TEST_CASE("tasks reaching a terminal status are counted once, by reason class, and failing nodes are named") {
  Fixture f({Discovering("p")});
  ief::BatchJob present = Job("present", "Running", kStarted - 10, kStarted - 60);
  f.script.listing = {present};
  f.script.answers["present"] = {WithTasks(present, {Task("a", "Successful"), Task("b", "Running")})};
  f.Round();
  CHECK(f.observer.Take().empty());  // its first details are a baseline: those tasks finished before the start

  ief::BatchJob later = Job("present", "Running", kStarted - 10, kStarted - 60);
  later.task_success_count = 1;
  later.task_failed_count = 1;
  f.script.listing = {later};
  f.script.answers["present"] = {
      WithTasks(later, {Task("a", "Successful"), Task("b", "Failed", "image pull failed: not found", "edge-7")})};
  f.Round();
  auto events = f.observer.Take();
  CHECK(events == std::vector<std::string>{"tasks Failed image_pull 1", "node edge-7"});

  // A job that appears while the exporter watches: every task its first details show finished is counted.
  ief::BatchJob fresh = Job("fresh", "Running", kStarted + 10);
  f.script.listing.push_back(fresh);
  f.script.answers["fresh"] = {WithTasks(fresh, {Task("c", "Successful"), Task("d", "Failed", "node is offline")})};
  f.Round();
  events = f.observer.Take();
  std::sort(events.begin(), events.end());
  CHECK(events == std::vector<std::string>{"node node-d", "started 10", "tasks Failed node_offline 1",
                                           "tasks Successful none 1"});
  f.Round();  // re-reads count nothing
  CHECK(f.observer.Take().empty());
}

TEST_CASE("finished jobs leave the snapshot after the retention, counters untouched, and come back when retried") {
  Fixture f({Discovering("p")}, {.tracking = {.finished_job_retention = 72h}});
  f.script.listing = {Job("recent", "Successful", kStarted - 3600), Job("ancient", "Failed", kStarted - 100 * 3600),
                      Job("running", "Running", kStarted - 100 * 3600)};
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"recent/discovery", "running/discovery"});
  CHECK(f.Snapshot()->expired_jobs.size() == 1);
  CHECK(f.script.fetches.count("ancient") == 0);  // no API call for it

  f.clock.Advance(72h);  // "recent" is now old enough too
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"running/discovery"});
  CHECK(f.observer.Take().empty());

  // Retried: it comes back through the list, and the retry counts.
  f.script.listing[1] = Job("ancient", "Running", kStarted + 72 * 3600 + 5);
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"ancient/discovery", "running/discovery"});
  CHECK(f.observer.Take() == std::vector<std::string>{"retried node_upgrade"});
  CHECK(f.script.fetches["ancient"] == 1);

  // A reload carries the expired job over: its retry is still one, not a first sight.
  Fixture reloaded({Discovering("p")},
                   {.tracking = {.finished_job_retention = 72h, .started_at = ief::FromUnixSeconds(kStarted)}}, &f);
  reloaded.clock.Advance(72h);
  reloaded.script.listing = f.script.listing;
  reloaded.script.listing[0] = Job("recent", "Running", kStarted + 72 * 3600 + 9);
  reloaded.Round();
  CHECK(reloaded.observer.Take() == std::vector<std::string>{"retried node_upgrade"});
}

TEST_CASE("jobs that a reload's wider filter brings in are a baseline: background work, their tasks not counted") {
  Fixture first({Discovering("p", {}, "nightly-.*")});
  ief::BatchJob adhoc = Job("adhoc", "Running", kStarted - 10, kStarted - 3600);
  adhoc.job_name = "adhoc-1";
  first.script.listing = {adhoc};
  first.Round();
  CHECK(first.Snapshot()->jobs.empty());

  Fixture second({Discovering("p")}, {.tracking = {.started_at = ief::FromUnixSeconds(kStarted)}}, &first);
  second.script.listing = {adhoc};
  second.script.answers["adhoc"] = {WithTasks(adhoc, {Task("a", "Successful"), Task("b", "Failed", "node is offline")})};
  second.Round();
  CHECK(second.script.fetch_order ==
        std::vector<std::pair<std::string, RequestPriority>>{{"adhoc", RequestPriority::kBackground}});
  CHECK(second.observer.Take().empty());
}

TEST_CASE("a job backing off after failures stays failed while the list shows it, until a fetch succeeds") {
  Fixture f({Discovering("p")});
  f.script.listing = {Listed("a", "Running")};
  f.Round();
  REQUIRE(Job(*f.Snapshot(), "a").last_fetch_ok);
  f.script.listing[0].task_success_count = 1;  // a change, whose details fail to come
  f.script.answers["a"] = {Script::Failure(ErrorKind::kHttpStatus, "HTTP 500")};
  for (int round = 0; round < 6; ++round) {
    f.Round();
    CHECK_FALSE(Job(*f.Snapshot(), "a").last_fetch_ok);
  }
  f.script.answers["a"] = {f.script.listing[0]};
  for (int round = 0; round < 4; ++round) f.Round();  // what is left of the back-off, then a fetch
  CHECK(Job(*f.Snapshot(), "a").last_fetch_ok);
}

TEST_CASE("a job that expired as discovered and is configured after a reload shows again, as configured") {
  Fixture first({Discovering("p")}, {.tracking = {.finished_job_retention = 72h}});
  first.script.listing = {Job("ancient", "Failed", kStarted - 100 * 3600)};
  first.Round();
  REQUIRE(first.Snapshot()->expired_jobs.size() == 1);

  Fixture second({Discovering("p", {"ancient"})}, {.tracking = {.finished_job_retention = 72h}}, &first);
  second.script.listing = first.script.listing;
  second.Round();
  CHECK(TrackedIds(*second.Snapshot()) == std::vector<std::string>{"ancient/config"});
  CHECK(second.Snapshot()->expired_jobs.empty());
  CHECK(Job(*second.Snapshot(), "ancient").has_details);
}

TEST_CASE("after a reload with the same filter, a job that appears is still news: urgent, its tasks counted") {
  Fixture first({Discovering("p")});
  first.script.listing = {Job("old", "Successful", kStarted - 3600)};
  first.Round();
  Fixture second({Discovering("p")}, {.tracking = {.started_at = ief::FromUnixSeconds(kStarted)}}, &first);
  ief::BatchJob fresh = Job("fresh", "Running", kStarted + 10, kStarted - 60);
  second.script.listing = {first.script.listing[0], fresh};
  second.script.answers["fresh"] = {WithTasks(fresh, {Task("a", "Successful")})};
  second.Round();
  CHECK(second.script.fetch_order ==
        std::vector<std::pair<std::string, RequestPriority>>{{"fresh", RequestPriority::kUrgent}});
  auto events = second.observer.Take();
  std::sort(events.begin(), events.end());
  CHECK(events == std::vector<std::string>{"started 70", "tasks Successful none 1"});
}

TEST_CASE("a job a list walk skipped, or that answered 404 once, is not counted again when it is back") {
  Fixture f({Discovering("p")});
  ief::BatchJob done = Job("done", "Running", kStarted + 5);
  f.script.listing = {done};
  f.script.answers["done"] = {WithTasks(done, {Task("a", "Running")})};
  f.Round();
  done = Job("done", "Failed", kStarted + 60);
  f.script.listing = {done};
  f.script.answers["done"] = {WithTasks(done, {Task("a", "Failed", "node is offline")})};
  f.Round();
  auto events = f.observer.Take();
  std::sort(events.begin(), events.end());
  CHECK(events == std::vector<std::string>{"finished node_upgrade Failed 60", "node node-a", "started 5",
                                           "tasks Failed node_offline 1"});

  // Skipped by a walk while other jobs were deleted, and its details answer 404 once (a lagging replica).
  const auto details = WithTasks(done, {Task("a", "Failed", "node is offline")});
  f.script.listing.clear();
  f.script.answers["done"] = {Script::Failure(ErrorKind::kNotFound, "HTTP 404"), details};
  f.Round();
  CHECK(f.Snapshot()->jobs.empty());
  f.script.listing = {done};  // and back at the next walk, unchanged
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"done/discovery"});
  CHECK(f.observer.Take().empty());

  // Only skipped: its details say it is still there, and it stays.
  f.script.listing.clear();
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"done/discovery"});
  CHECK(f.observer.Take().empty());

  // Gone for hours and listed again (a filter changed and changed back): still nothing counted again.
  f.script.answers["done"] = {Script::Failure(ErrorKind::kNotFound, "HTTP 404"), details};
  f.Round();
  REQUIRE(f.Snapshot()->jobs.empty());
  f.clock.Advance(11h);
  f.Round();
  f.script.listing = {done};
  f.Round();
  CHECK(f.observer.Take().empty());

  // A transient 404 while it is retried: dropped, then back through the list; only the retry counts.
  done = Job("done", "Running", kStarted + 900);
  f.script.listing = {done};
  f.script.answers["done"] = {Script::Failure(ErrorKind::kNotFound, "HTTP 404"), WithTasks(done, {Task("a", "Running")})};
  f.Round();
  CHECK(f.Snapshot()->jobs.empty());
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()) == std::vector<std::string>{"done/discovery"});
  CHECK(f.observer.Take() == std::vector<std::string>{"retried node_upgrade"});
}

// ---- Walks of the list: the head each round, the whole list now and then ----

namespace {

// A tenant's list, newest first as asked (sort=created_at:desc): `live` jobs Running, created in the last minutes,
// then `history` jobs that finished a month ago.
std::vector<ief::BatchJob> LongHistory(int live, int history) {
  std::vector<ief::BatchJob> jobs;
  for (int i = 0; i < live; ++i) jobs.push_back(Job("live-" + std::to_string(i), "Running", kStarted - 60, kStarted - 60 - i));
  for (int i = 0; i < history; ++i) {
    const int64_t created = kStarted - 30 * 86400 - i * 60;
    jobs.push_back(Job("old-" + std::to_string(i), "Successful", created + 600, created));
  }
  return jobs;
}

int ListCallsOfRounds(Fixture& f, int rounds) {
  const int before = f.script.list_calls;
  for (int i = 0; i < rounds; ++i) {
    f.clock.Advance(5s);
    f.Round();
  }
  return f.script.list_calls - before;
}

}  // namespace

TEST_CASE("a long history costs one page a round: the head walk stops below the oldest job still followed") {
  Fixture f({Discovering("p")});
  f.script.listing = LongHistory(30, 965);  // 10 pages
  f.Round();
  CHECK(f.script.list_calls == 10);  // the first walk reads everything
  CHECK(f.Snapshot()->jobs.size() == 30);
  CHECK(f.Snapshot()->expired_jobs.size() == 965);
  CHECK(ListCallsOfRounds(f, 12) == 12);  // a minute at 5 s: the first page each round

  // A new job is at the head: found by the next round.
  f.script.listing.insert(f.script.listing.begin(), Job("new", "Running", kStarted + 90, kStarted + 80));
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()).size() == 31);
  CHECK(f.observer.Take() == std::vector<std::string>{"started 10"});
}

TEST_CASE("a job older than the head is refreshed by its details, and a walk of the whole list comes in steps") {
  Fixture f({Discovering("p")}, {.tracking = {.active_refresh_interval = 1min}});
  const int64_t ancient = kStarted - 40 * 86400;
  std::vector<ief::BatchJob> listing = LongHistory(5, 495);
  // An old job still running, deep in the list: older than finished_job_retention reaches, below the head.
  listing.push_back(Job("ancient-running", "Running", ancient, ancient));
  f.script.listing = listing;  // 6 pages
  f.Round();
  const int fetched = f.script.fetches["ancient-running"];
  CHECK(ListCallsOfRounds(f, 12) == 12);
  CHECK(f.script.fetches["ancient-running"] == fetched + 1);  // refreshed once in that minute, by its details

  // The old job finishes: its details say so within active_refresh_interval, and the finish counts once.
  f.script.listing.back() = Job("ancient-running", "Failed", kStarted + 100, ancient);
  ListCallsOfRounds(f, 12);
  CHECK(Job(*f.Snapshot(), "ancient-running").last_good->status == "Failed");
  CHECK(f.observer.Take() == std::vector<std::string>{"finished node_upgrade Failed " + std::to_string(kStarted + 100 - ancient)});

  // Ten minutes after the first walk, a walk of the whole list is due: a page more each round, down to its end.
  f.script.list_offsets.clear();
  const int calls = ListCallsOfRounds(f, 110);
  CHECK(calls >= 110 + 6);
  CHECK(calls <= 110 + 8);  // six pages, and a little overlap between steps
  CHECK(*std::max_element(f.script.list_offsets.begin(), f.script.list_offsets.end()) >= 450);
  CHECK(TrackedIds(*f.Snapshot()).size() == 6);  // nothing dropped
}

TEST_CASE("a job deleted deep in the list goes after the walk of the whole list, once its details answer 404") {
  ief::TrackedProject project = Discovering("p");
  project.discovery.full_walk_interval = 1min;
  Fixture f({project});
  std::vector<ief::BatchJob> listing = LongHistory(5, 295);
  // Finished a day ago (within finished_job_retention), created a week ago: followed, but below the head.
  listing.insert(listing.begin() + 5, Job("week-old", "Failed", kStarted - 86400, kStarted - 7 * 86400));
  f.script.listing = listing;
  f.Round();
  REQUIRE(TrackedIds(*f.Snapshot()).size() == 6);
  ListCallsOfRounds(f, 2);
  const int fetched = f.script.fetches["week-old"];
  f.script.listing.erase(f.script.listing.begin() + 5);  // deleted upstream
  f.script.answers["week-old"] = {Script::Failure(ErrorKind::kNotFound, "HTTP 404")};
  ListCallsOfRounds(f, 30);  // past the next walk of the whole list, spread over rounds
  CHECK(f.script.fetches["week-old"] == fetched + 1);  // asked once, after the walk did not show it
  CHECK(TrackedIds(*f.Snapshot()).size() == 5);
  CHECK(f.observer.Take().empty());
}

TEST_CASE("a list not sorted newest first is walked in full every round, and full_walk_interval 0s does the same") {
  for (bool sorted : {false, true}) {
    ief::TrackedProject project = Discovering("p");
    if (sorted) project.discovery.full_walk_interval = ief::Duration(0);
    Fixture f({project});
    f.script.listing = LongHistory(30, 265);  // 3 pages
    if (!sorted) std::reverse(f.script.listing.begin(), f.script.listing.end());  // oldest first
    f.Round();
    CHECK(ListCallsOfRounds(f, 4) == 4 * 3);
  }
}

TEST_CASE("a list that turns oldest first is caught even when its first page looks sorted") {
  Fixture f({Discovering("p")});
  std::vector<ief::BatchJob> listing = LongHistory(30, 0);
  const int64_t month_ago = kStarted - 30 * 86400;
  for (int i = 0; i < 265; ++i) {  // created in one second: any page of them alone looks sorted
    listing.push_back(Job("old-" + std::to_string(i), "Successful", month_ago + 600, month_ago));
  }
  f.script.listing = listing;  // 3 pages
  f.Round();
  REQUIRE(ListCallsOfRounds(f, 2) == 2);  // head walks, sorted as asked

  // Oldest first now: the first page holds only month-old jobs, older than the head needs, yet the newest job
  // the walk before showed is not on it, so the walk reads on and sees the order broken.
  std::reverse(f.script.listing.begin(), f.script.listing.end());
  CHECK(ListCallsOfRounds(f, 4) == 4 * 3);

  // Sorted again, with the newest job deleted: one walk of the whole list to be sure, then head walks.
  std::reverse(f.script.listing.begin(), f.script.listing.end());
  ListCallsOfRounds(f, 1);  // the walk that finds the order kept again
  f.script.listing.erase(f.script.listing.begin());
  CHECK(ListCallsOfRounds(f, 1) == 3);
  CHECK(ListCallsOfRounds(f, 3) == 3);
  CHECK(TrackedIds(*f.Snapshot()).size() == 29);
}

TEST_CASE("a walk of the whole list that misses a live job asks its details before dropping it") {
  ief::TrackedProject project = Discovering("p");
  project.discovery.full_walk_interval = ief::Duration(0);  // every walk reads the whole list
  Fixture f({project});
  const int64_t ancient = kStarted - 40 * 86400;
  const ief::BatchJob old_job = Job("ancient-running", "Running", ancient, ancient);
  f.script.listing = LongHistory(5, 295);
  f.script.listing.push_back(old_job);
  f.Round();
  REQUIRE(TrackedIds(*f.Snapshot()).size() == 6);

  // Hidden from one walk (jobs deleted above it moved it across a page boundary): its details say it is there.
  f.script.listing.pop_back();
  f.script.answers["ancient-running"] = {old_job};
  const int fetched = f.script.fetches["ancient-running"];
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()).size() == 6);
  CHECK(f.script.fetches["ancient-running"] == fetched + 1);
  f.script.listing.push_back(old_job);  // listed again: no more questions
  ListCallsOfRounds(f, 3);
  CHECK(f.script.fetches["ancient-running"] == fetched + 1);

  // Deleted: its details answer 404, and it goes.
  f.script.listing.pop_back();
  f.script.answers["ancient-running"] = {Script::Failure(ErrorKind::kNotFound, "HTTP 404")};
  f.Round();
  CHECK(TrackedIds(*f.Snapshot()).size() == 5);
  CHECK(f.observer.Take().empty());  // neither hiding nor deleting counts anything
}

TEST_CASE("a job deleted within the head of the list goes after the next head walk") {
  Fixture f({Discovering("p")});
  f.script.listing = LongHistory(30, 265);
  // Finished a minute ago, created among the live jobs: on the first page.
  f.script.listing.insert(f.script.listing.begin() + 10, Job("recent", "Failed", kStarted - 60, kStarted - 70));
  f.Round();
  REQUIRE(TrackedIds(*f.Snapshot()).size() == 31);
  REQUIRE(ListCallsOfRounds(f, 2) == 2);
  const int fetched_live = f.script.fetches["live-0"];

  f.script.listing.erase(f.script.listing.begin() + 10);  // deleted upstream: its details answer 404
  CHECK(ListCallsOfRounds(f, 1) == 1);
  CHECK(TrackedIds(*f.Snapshot()).size() == 30);
  CHECK(f.script.fetches["live-0"] == fetched_live);  // the jobs the walk showed are not asked
}

TEST_CASE("after a reload, a list that turns oldest first is still caught on a page that looks sorted") {
  std::vector<ief::BatchJob> listing = LongHistory(30, 0);
  const int64_t month_ago = kStarted - 30 * 86400;
  for (int i = 0; i < 265; ++i) listing.push_back(Job("old-" + std::to_string(i), "Successful", month_ago + 600, month_ago));
  Fixture before({Discovering("p")});
  before.script.listing = listing;
  before.Round();
  REQUIRE(ListCallsOfRounds(before, 1) == 1);

  Fixture after({Discovering("p")}, {}, &before);  // a reload: a new tracker, seeded from the last snapshot
  after.script.listing = listing;
  std::reverse(after.script.listing.begin(), after.script.listing.end());
  CHECK(ListCallsOfRounds(after, 3) == 3 * 3);
}

TEST_CASE("a list without job_count is still walked in full within full_walk_interval") {
  ief::TrackedProject project = Discovering("p");
  project.discovery.interval = 5s;
  project.discovery.full_walk_interval = 10s;  // two rounds for ten pages: five pages a step
  Fixture f({project});
  f.script.omit_job_count = true;
  f.script.listing = LongHistory(5, 995);
  f.Round();
  REQUIRE(f.script.list_calls == 11);  // read until a page came back empty
  f.script.list_offsets.clear();
  const int calls = ListCallsOfRounds(f, 4);
  CHECK(calls >= 4 + 10);  // the head each round, and the whole list in two or three steps
  CHECK(*std::max_element(f.script.list_offsets.begin(), f.script.list_offsets.end()) >= 900);
}

TEST_CASE("a shutdown with transitions still pending leaves the state file as it was, even when asked twice") {
  std::mutex mutex;
  std::vector<ief::HistoryState> saved;
  ief::PollerOptions options;
  options.save_history = [&](const ief::HistoryState& history) {
    std::lock_guard<std::mutex> lock(mutex);
    saved.push_back(history);
    return true;
  };
  Fixture f({Discovering("p")}, options);
  f.script.listing = {Job("a", "Running", kStarted - 10), Job("b", "Running", kStarted - 10)};
  f.Round();  // the first save comes at once
  f.clock.Advance(3s);
  f.script.listing[0] = Job("a", "Failed", kStarted + 5);
  f.Round();  // saved, then delivered
  CHECK(f.observer.Take() == std::vector<std::string>{"finished node_upgrade Failed 5"});

  f.script.listing[1] = Job("b", "Failed", kStarted + 6);
  f.poller->RunRound();  // decided; the next save is due only 2 s later on the poller's clock
  f.poller->Shutdown();
  f.poller->Shutdown();  // as the app's destructor does after its own shutdown
  CHECK(f.observer.Take() == std::vector<std::string>{});
  std::lock_guard<std::mutex> lock(mutex);
  REQUIRE_FALSE(saved.empty());
  const ief::JobHistory& b = saved.back().projects.at("p").jobs.at("b");
  CHECK(b.counted->status == "Running");  // the next start counts b's finish, where a scrape sees it
}

TEST_CASE("a failed save is tried again, even when no transition waits for it") {
  std::mutex mutex;
  bool disk_full = false;
  int failures = 0;
  std::vector<ief::HistoryState> saved;
  ief::PollerOptions options;
  options.save_history = [&](const ief::HistoryState& history) {
    std::lock_guard<std::mutex> lock(mutex);
    if (disk_full) {
      ++failures;
      return false;
    }
    saved.push_back(history);
    return true;
  };
  auto counted_update = [&]() -> std::optional<int64_t> {
    std::lock_guard<std::mutex> lock(mutex);
    return saved.back().projects.at("p").jobs.at("a").counted->updated_at;
  };
  Fixture f({Discovering("p")}, options);
  f.script.listing = {Job("a", "Running", kStarted - 10)};
  f.Round();
  REQUIRE(counted_update() == kStarted - 10);
  (void)f.observer.Take();

  {
    std::lock_guard<std::mutex> lock(mutex);
    disk_full = true;
  }
  f.clock.Advance(3s);
  f.script.listing[0] = Job("a", "Running", kStarted + 2);  // a newer view: the history changes, nothing is counted
  f.Round();
  CHECK(f.observer.Take().empty());
  {
    std::lock_guard<std::mutex> lock(mutex);
    REQUIRE(failures >= 1);
    disk_full = false;
  }
  f.clock.Advance(3s);
  f.poller->Commit();  // the committer's retry, or this one
  CHECK(counted_update() == kStarted + 2);
  f.poller->Stop();
}
