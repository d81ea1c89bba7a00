#include "poll/poller.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
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
  // ListBatchJob: what the project lists; jobs without a scripted answer are served from here (404 if absent).
  std::vector<ief::BatchJob> listing;
  bool list_fails = false;
  int list_calls = 0;
  std::map<std::string, int> fetches;  // per job id
  std::map<std::string, std::vector<ief::BodyFingerprint>> known_fingerprints;  // what each fetch was told

  ief::FetchResult Page(long offset, long limit) {
    std::lock_guard<std::mutex> lock(mutex);
    ++list_calls;
    ief::FetchResult page;
    if (list_fails) return Failure(Kind::kHttpError, "HTTP 503");
    page.kind = Kind::kOk;
    page.list.job_count = static_cast<int64_t>(listing.size());
    for (long i = offset; i < offset + limit && i < static_cast<long>(listing.size()); ++i) {
      page.list.jobs.push_back(listing[i]);
    }
    return page;
  }

  ief::FetchResult FromListing(const std::string& job_id) {
    for (const auto& summary : listing) {
      if (summary.job_id != job_id) continue;
      ief::FetchResult result;
      result.kind = Kind::kOk;
      result.job = summary;
      return result;
    }
    return Failure(Kind::kNotFound, "HTTP 404");
  }

  ief::FetchResult Next(const std::string& job_id, ief::BodyFingerprint known) {
    std::unique_lock<std::mutex> lock(mutex);
    ++calls;
    known_fingerprints[job_id].push_back(known);
    max_in_flight = std::max(max_in_flight, ++in_flight);
    changed.notify_all();
    if (wait_for_peers > 0) {
      changed.wait_for(lock, std::chrono::seconds(5), [&] { return max_in_flight >= wait_for_peers; });
    }
    --in_flight;
    ++fetches[job_id];
    auto scripted = answers.find(job_id);
    if (scripted == answers.end()) return FromListing(job_id);
    auto& queue = scripted->second;
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
  static ief::FetchResult Parsed(const std::string& status, ief::BodyFingerprint fingerprint) {
    ief::FetchResult result = Success(status);
    result.body_fingerprint = fingerprint;
    return result;
  }
  static ief::FetchResult Unchanged(ief::BodyFingerprint fingerprint) {
    ief::FetchResult result;
    result.kind = Kind::kOk;
    result.body_fingerprint = fingerprint;
    result.unchanged = true;
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
  ief::FetchResult Fetch(const ief::ProjectContext&, const std::string& job_id, ief::BodyFingerprint known) override {
    return script_.Next(job_id, known);
  }
  ief::FetchResult ListPage(const ief::ProjectContext&, long offset, long limit) override {
    return script_.Page(offset, limit);
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

ief::TrackedProject Discovering(const std::string& id, std::vector<std::string> explicit_jobs = {},
                                std::string name_regex = "") {
  ief::TrackedProject project = Project(id, std::move(explicit_jobs));
  project.discovery.enabled = true;
  project.discovery.interval = std::chrono::milliseconds(0);  // list at every round
  project.discovery.name_regex = std::move(name_regex);
  return project;
}

std::vector<std::string> TrackedIds(const ief::Snapshot& snapshot) {
  std::vector<std::string> ids;
  for (const auto& job : snapshot.jobs) ids.push_back(job->job_id + "/" + job->source);
  return ids;
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

TEST_CASE("an answer identical to the last parsed one keeps its values and text, and is not rendered again") {
  Script script;
  script.answers["a"] = {Script::Parsed("Running", 77), Script::Unchanged(77)};
  ief::SnapshotStore store;
  double now = 1000;
  int renders = 0;
  ief::PollerOptions options;
  options.render_job = [&](const ief::JobSnapshot&, const ief::BatchJob&, const ief::RenderOptions&) {
    ++renders;
    return std::shared_ptr<const ief::RenderedJob>();
  };
  ief::Poller poller(options, {Project("p", {"a"})}, Factory(script), store, [&] { return now; });

  poller.RunRound();
  auto first_good = Job(*store.Load(), "a").last_good;
  REQUIRE(first_good != nullptr);
  CHECK(renders == 1);

  now = 1030;
  poller.RunRound();
  const ief::JobSnapshot& second = Job(*store.Load(), "a");
  CHECK(script.known_fingerprints["a"] == std::vector<ief::BodyFingerprint>{0, 77});
  CHECK(renders == 1);
  CHECK(second.last_good == first_good);
  CHECK(second.last_fetch_ok);
  CHECK(second.last_success_unix == 1030);
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

TEST_CASE("discovery adds listed jobs that match, and drops those that leave the list") {
  Script script;
  script.listing = {Listed("a", "Running", 1, "nightly-a"), Listed("b", "Running", 1, "adhoc-b"),
                    Listed("c", "Successful", 1, "nightly-c")};
  ief::SnapshotStore store;
  ief::Poller poller({}, {Discovering("p", {"x"}, "nightly-.*")}, Factory(script), store);
  poller.RunRound();
  CHECK(TrackedIds(*store.Load()) == std::vector<std::string>{"a/discovery", "c/discovery", "x/config"});
  CHECK(Job(*store.Load(), "a").last_good->status == "Running");

  script.listing.erase(script.listing.begin());  // "a" deleted upstream
  poller.RunRound();
  CHECK(TrackedIds(*store.Load()) == std::vector<std::string>{"c/discovery", "x/config"});
  CHECK(Job(*store.Load(), "x").last_fetch_ok == false);  // explicit, answers 404: stays, failing
}

TEST_CASE("a discovered job that answers 404 is dropped") {
  Script script;
  script.listing = {Listed("a", "Running")};
  script.answers["a"] = {Script::Failure(Kind::kNotFound, "HTTP 404")};
  ief::SnapshotStore store;
  ief::Poller poller({}, {Discovering("p")}, Factory(script), store);
  poller.RunRound();
  CHECK(store.Load()->jobs.empty());
}

TEST_CASE("with a fresh list, only active or changed jobs are fetched") {
  Script script;
  script.listing = {Listed("active", "Running"), Listed("done", "Successful", 5), Listed("failed", "Failed", 7)};
  ief::SnapshotStore store;
  ief::Poller poller({}, {Discovering("p")}, Factory(script), store);
  poller.RunRound();  // first sight: everything is fetched once
  CHECK(script.fetches == std::map<std::string, int>{{"active", 1}, {"done", 1}, {"failed", 1}});
  for (int i = 0; i < 5; ++i) poller.RunRound();
  CHECK(script.fetches == std::map<std::string, int>{{"active", 6}, {"done", 1}, {"failed", 1}});
  CHECK(script.list_calls == 6);

  script.listing[2] = Listed("failed", "Running", 9);  // retried upstream
  poller.RunRound();
  CHECK(script.fetches["failed"] == 2);
  CHECK(Job(*store.Load(), "failed").last_good->status == "Running");
}

TEST_CASE("a failed listing keeps the tracked jobs") {
  Script script;
  script.listing = {Listed("a", "Successful")};
  ief::SnapshotStore store;
  ief::Poller poller({}, {Discovering("p")}, Factory(script), store);
  poller.RunRound();
  script.list_fails = true;
  poller.RunRound();
  CHECK(TrackedIds(*store.Load()) == std::vector<std::string>{"a/discovery"});
  CHECK_FALSE(store.Load()->projects[0].up);
}

TEST_CASE("finished explicit jobs without discovery are re-read only every terminal_recheck_interval") {
  Script script;
  script.answers["done"] = {Script::Success("Successful")};
  script.answers["busy"] = {Script::Success("Running")};
  ief::SnapshotStore store;
  double now = 1000;
  ief::PollerOptions options;
  options.terminal_recheck_interval = std::chrono::seconds(600);
  ief::Poller poller(options, {Project("p", {"busy", "done"})}, Factory(script), store, [&] { return now; });
  for (int i = 0; i < 10; ++i) {
    poller.RunRound();
    now += 30;
  }
  CHECK(script.fetches["busy"] == 10);
  CHECK(script.fetches["done"] == 1);
  now = 1000 + 600;
  poller.RunRound();
  CHECK(script.fetches["done"] == 2);
}

TEST_CASE("shards split explicit and discovered jobs with no overlap and no gap") {
  Script script;
  std::vector<std::string> explicit_jobs;
  for (int i = 0; i < 20; ++i) script.listing.push_back(Listed("d" + std::to_string(i), "Running"));
  for (int i = 0; i < 20; ++i) explicit_jobs.push_back("e" + std::to_string(i));
  for (const auto& id : explicit_jobs) script.answers[id] = {Script::Success("Running")};
  std::multiset<std::string> all;
  for (int shard = 0; shard < 2; ++shard) {
    ief::SnapshotStore store;
    ief::PollerOptions options;
    options.shard = shard;
    options.total_shards = 2;
    ief::Poller poller(options, {Discovering("p", explicit_jobs)}, Factory(script), store);
    poller.RunRound();
    auto ids = TrackedIds(*store.Load());
    CHECK(ids.size() > 5);
    all.insert(ids.begin(), ids.end());
  }
  CHECK(all.size() == 40);
  CHECK(std::set<std::string>(all.begin(), all.end()).size() == 40);
}
