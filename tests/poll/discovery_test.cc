#include "poll/discovery.h"

#include <catch2/catch.hpp>
#include <limits>
#include <optional>
#include <set>
#include <vector>

namespace {

ief::BatchJob Summary(const std::string& id, const std::string& name, const std::string& type, int64_t created) {
  ief::BatchJob job;
  job.job_id = id;
  job.job_name = name;
  job.job_type = type;
  job.created_at = created;
  return job;
}

// A ListBatchJob server over `total` jobs j0, j1... that pages honestly, states `count` as job_count (nullopt:
// leaves it out) and records every page asked for.
struct ListServer {
  long total = 0;
  std::optional<int64_t> count;
  long max_page = 1000;       // items a page holds at most, whatever is asked
  bool ignore_offset = false;
  std::vector<std::pair<long, long>> asked;

  ief::Fetched<ief::BatchJobList> operator()(long offset, long limit) {
    asked.emplace_back(offset, limit);
    if (ignore_offset) offset = 0;
    ief::BatchJobList page;
    page.job_count = count;
    for (long i = offset; i < total && i < offset + std::min(limit, max_page); ++i) {
      page.jobs.push_back(Summary("j" + std::to_string(i), "", "", 0));
    }
    return page;
  }
  ief::PageReader Reader() {
    return [this](long offset, long limit) { return (*this)(offset, limit); };
  }
};

std::set<std::string> Ids(const ief::BatchJobList& list) {
  std::set<std::string> ids;
  for (const auto& job : list.jobs) ids.insert(job.job_id);
  return ids;
}

struct CutCounter : ief::PollObserver {
  std::vector<std::string> cuts;
  void OnListWalkCut(const std::string& project_id, std::string_view reason) override {
    cuts.push_back(project_id + "/" + std::string(reason));
  }
};

}  // namespace

TEST_CASE("the discovery filter checks type, whole name and age") {
  ief::DiscoveryConfig config;
  config.enabled = true;
  config.job_types = {"node_upgrade", "deployment_upgrade"};
  config.name_regex = "nightly-.*";
  config.max_age = std::chrono::hours(1);
  ief::DiscoveryFilter filter(config);
  const int64_t unix_now = 1700000000;
  const ief::WallTime now = ief::FromUnixSeconds(unix_now);
  CHECK(filter.Matches(Summary("a", "nightly-42", "node_upgrade", unix_now - 60), now));
  CHECK_FALSE(filter.Matches(Summary("a", "nightly-42", "deployment_deploy", unix_now - 60), now));
  CHECK_FALSE(filter.Matches(Summary("a", "my-nightly-42", "node_upgrade", unix_now - 60), now));  // whole name
  CHECK_FALSE(filter.Matches(Summary("a", "nightly-42", "node_upgrade", unix_now - 7200), now));
  CHECK(ief::DiscoveryFilter(ief::DiscoveryConfig{}).Matches(Summary("a", "x", "y", 0), now));
  // A name long enough to overflow a stack inside std::regex is refused before it is matched.
  CHECK_FALSE(filter.Matches(Summary("a", "nightly-" + std::string(1000000, 'x'), "node_upgrade", unix_now), now));
  CHECK(filter.Matches(Summary("a", "nightly-" + std::string(1000, 'x'), "node_upgrade", unix_now), now));
}

TEST_CASE("the shard hash is FNV-1a 64 and splits ids with no overlap and no gap") {
  CHECK(ief::JobIdHash("") == 14695981039346656037ULL);
  CHECK(ief::JobIdHash("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(ief::JobIdHash("66273c66-f72e-4607-8769-3663d255fb83") == ief::JobIdHash("66273c66-f72e-4607-8769-3663d255fb83"));
  std::vector<int> per_shard(3);
  for (int i = 0; i < 3000; ++i) {
    std::string id = "job-" + std::to_string(i);
    int owners = 0;
    for (int shard = 0; shard < 3; ++shard) {
      if (ief::InShard(id, shard, 3)) {
        ++owners;
        ++per_shard[shard];
      }
    }
    CHECK(owners == 1);
  }
  for (int count : per_shard) CHECK(count > 800);  // roughly even
  CHECK(ief::InShard("anything", 0, 1));
}

TEST_CASE("a list walk takes as many pages as the job count needs, one when it is unknown") {
  CHECK(ief::ListWalkPages(std::nullopt, 100) == 1);
  CHECK(ief::ListWalkPages(0, 100) == 1);
  CHECK(ief::ListWalkPages(100, 100) == 1);
  CHECK(ief::ListWalkPages(101, 100) == 2);
  CHECK(ief::ListWalkPages(1000, 100) == 10);
  // The count comes from the network: the largest one still gives a page count, not an overflow.
  CHECK(ief::ListWalkPages(std::numeric_limits<int64_t>::max(), 100) == std::numeric_limits<int64_t>::max() / 100 + 1);
}

TEST_CASE("ListAllJobs pages until job_count, coping with short pages") {
  const int total = 25;
  std::vector<std::pair<long, long>> asked;
  auto server = [&](long offset, long limit) {
    asked.emplace_back(offset, limit);
    ief::BatchJobList page;
    page.job_count = total;
    long served = std::min<long>(std::min<long>(limit, 7), total - offset);  // never more than 7 a page
    for (long i = 0; i < served; ++i) page.jobs.push_back(Summary("j" + std::to_string(offset + i), "", "", 0));
    return ief::Fetched<ief::BatchJobList>(page);
  };
  auto all = ief::ListAllJobs(server, 10);
  REQUIRE(all.ok());
  CHECK(all->jobs.size() == 25);
  std::set<std::string> ids;
  for (const auto& job : all->jobs) ids.insert(job.job_id);
  CHECK(ids.size() == 25);
  CHECK(asked == std::vector<std::pair<long, long>>{{0, 10}, {7, 10}, {14, 10}, {21, 10}});
}

TEST_CASE("ListAllJobs keeps each item's summary, not its bulky parts") {
  auto server = [](long, long) {
    ief::BatchJobList page;
    page.job_count = 1;
    ief::BatchJob item = Summary("j", "", "", 0);
    item.description = std::string(100000, 'd');
    item.task_data = std::string(100000, 't');
    item.status = "Running";
    page.jobs.push_back(item);
    return ief::Fetched<ief::BatchJobList>(page);
  };
  auto all = ief::ListAllJobs(server, 10);
  REQUIRE(all.ok());
  REQUIRE(all->jobs.size() == 1);
  CHECK(all->jobs[0].job_id == "j");
  CHECK(all->jobs[0].status == "Running");
  CHECK(all->jobs[0].description.empty());
  CHECK(all->jobs[0].task_data.empty());
}

TEST_CASE("ListAllJobs stops on an empty page and reports a failing one") {
  int calls = 0;
  auto liar = [&](long, long) {  // claims 100 jobs but has none
    ++calls;
    ief::BatchJobList page;
    page.job_count = 100;
    return ief::Fetched<ief::BatchJobList>(page);
  };
  CHECK(ief::ListAllJobs(liar, 10).ok());
  CHECK(calls == 1);

  auto failing = [&](long offset, long) -> ief::Fetched<ief::BatchJobList> {
    if (offset > 0) return ief::FetchError{.kind = ief::ErrorKind::kHttpStatus, .http_status = 500, .message = "HTTP 500"};
    ief::BatchJobList page;
    page.job_count = 20;
    for (int i = 0; i < 10; ++i) page.jobs.push_back(Summary("j" + std::to_string(i), "", "", 0));
    return page;
  };
  auto result = ief::ListAllJobs(failing, 10);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message == "HTTP 500");
}

TEST_CASE("a filter's description changes exactly when the jobs it tracks may change") {
  ief::DiscoveryConfig nightly{.enabled = true, .job_types = {"node_upgrade"}, .name_regex = "nightly-.*"};
  ief::DiscoveryConfig other_interval = nightly;
  other_interval.interval = std::chrono::seconds(90);
  CHECK(ief::DescribeFilter(nightly) == ief::DescribeFilter(other_interval));
  ief::DiscoveryConfig wider = nightly;
  wider.name_regex = "";
  ief::DiscoveryConfig older = nightly;
  older.max_age = std::chrono::hours(24);
  ief::DiscoveryConfig off = nightly;
  off.enabled = false;
  // A type list and a regex that would read the same if they were simply joined.
  ief::DiscoveryConfig joined{.enabled = true, .job_types = {"a;regex:0:"}, .name_regex = ""};
  ief::DiscoveryConfig split{.enabled = true, .job_types = {"a"}, .name_regex = ""};
  for (const auto* changed : {&wider, &older, &off}) CHECK(ief::DescribeFilter(*changed) != ief::DescribeFilter(nightly));
  CHECK(ief::DescribeFilter(joined) != ief::DescribeFilter(split));
}

TEST_CASE("a list that ignores offset and claims 10^12 jobs is cut at its first repeated page") {
  ListServer server{.total = 250, .count = 1000000000000, .ignore_offset = true};
  ief::ListWalk walk;
  auto all = ief::ListAllJobs(server.Reader(), 100, &walk);
  REQUIRE(all.ok());
  CHECK(server.asked.size() == 2);  // was 10,000 pages of the same 100 jobs
  CHECK(walk.end == ief::ListWalkEnd::kNothingNew);
  CHECK(walk.pages == 2);
  CHECK(walk.jobs == 100);
  CHECK(all->jobs.size() == 100);  // each job once: memory follows the jobs seen, not the pages read
  CHECK(all->job_count == 100);    // what the walk saw, not the claim
}

TEST_CASE("a job_count that is missing, zero, negative or short never truncates the list") {
  for (std::optional<int64_t> count : {std::optional<int64_t>(), std::optional<int64_t>(0),
                                       std::optional<int64_t>(-5), std::optional<int64_t>(100)}) {
    INFO((count ? std::to_string(*count) : "missing"));
    ListServer server{.total = 250, .count = count};
    ief::ListWalk walk;
    auto all = ief::ListAllJobs(server.Reader(), 100, &walk);
    REQUIRE(all.ok());
    CHECK(Ids(*all).size() == 250);  // was 100: only the first page was read
    CHECK(walk.end == ief::ListWalkEnd::kComplete);
    CHECK(all->job_count == 250);
    if (count && *count > 0) {
      CHECK(walk.count_exceeded);
      CHECK(server.asked.size() == 3);  // full, full, then a short page ends it
    } else {
      CHECK(walk.count_missing);
      CHECK(server.asked.size() == 4);  // ... until a page comes back empty
    }
    CHECK_FALSE(ief::DescribeListWalkProblem(walk).empty());
  }
}

TEST_CASE("an honest job_count costs at most one page more, and only when it fills the last page exactly") {
  ListServer honest{.total = 250, .count = 250};
  ief::ListWalk walk;
  REQUIRE(ief::ListAllJobs(honest.Reader(), 100, &walk).ok());
  CHECK(honest.asked.size() == 3);
  CHECK(ief::DescribeListWalkProblem(walk).empty());

  ListServer exact{.total = 200, .count = 200};
  auto all = ief::ListAllJobs(exact.Reader(), 100, &walk);
  REQUIRE(all.ok());
  CHECK(exact.asked == std::vector<std::pair<long, long>>{{0, 100}, {100, 100}, {200, 100}});
  CHECK(all->job_count == 200);
  CHECK(ief::DescribeListWalkProblem(walk).empty());

  // A count larger than the list (jobs deleted during the walk): the empty page ends it.
  ListServer shrinking{.total = 150, .count = 300};
  all = ief::ListAllJobs(shrinking.Reader(), 100, &walk);
  REQUIRE(all.ok());
  CHECK(shrinking.asked.size() == 3);
  CHECK(Ids(*all).size() == 150);
  CHECK(ief::DescribeListWalkProblem(walk).empty());
}

TEST_CASE("a list that never ends is cut at the page cap, and oversized pages cannot pass the job cap") {
  ListServer endless{.total = std::numeric_limits<long>::max(), .count = 1000000000000};
  ief::ListWalk walk;
  auto all = ief::ListAllJobs(endless.Reader(), 10, &walk, 5);
  REQUIRE(all.ok());
  CHECK(endless.asked.size() == 5);
  CHECK(walk.end == ief::ListWalkEnd::kPageCap);
  CHECK(all->jobs.size() == 50);

  ListServer oversized{.total = 100000, .count = 100000};
  auto capped = [&](long offset, long) { return oversized(offset, 100000); };  // ignores the limit asked
  all = ief::ListAllJobs(capped, 10, &walk, 5);
  REQUIRE(all.ok());
  CHECK(oversized.asked.size() == 1);
  CHECK(walk.end == ief::ListWalkEnd::kPageCap);
  CHECK(all->jobs.size() == 50);  // 5 pages' worth of 10
  CHECK(ief::kMaxListPages == 500);
}

TEST_CASE("a job seen again on a later page (the list shifted) is kept once, as the later page shows it") {
  auto shifted = [](long offset, long limit) {
    ief::BatchJobList page;
    page.job_count = 3;
    // A new job arrived between the two pages: the second page starts with the first page's last job.
    std::vector<std::string> ids = offset == 0   ? std::vector<std::string>{"a", "b"}
                                   : offset == 2 ? std::vector<std::string>{"b", "c"}
                                                 : std::vector<std::string>{};
    for (const auto& id : ids) {
      ief::BatchJob job = Summary(id, "", "", 0);
      job.status = offset == 0 ? "Running" : "Successful";
      page.jobs.push_back(job);
    }
    (void)limit;
    return ief::Fetched<ief::BatchJobList>(page);
  };
  ief::ListWalk walk;
  auto all = ief::ListAllJobs(shifted, 2, &walk);
  REQUIRE(all.ok());
  REQUIRE(all->jobs.size() == 3);
  CHECK(all->jobs[1].job_id == "b");
  CHECK(all->jobs[1].status == "Successful");
  CHECK(walk.end == ief::ListWalkEnd::kComplete);
  CHECK(all->job_count == 3);
}

TEST_CASE("a walk's problem is logged once while it lasts and a cut is counted every time") {
  CutCounter observer;
  std::string last_logged;
  ief::ListWalk cut{.end = ief::ListWalkEnd::kNothingNew, .pages = 2, .jobs = 100};
  ief::ReportListWalk("p", cut, last_logged, &observer);
  CHECK(last_logged == ief::DescribeListWalkProblem(cut));
  ief::ReportListWalk("p", cut, last_logged, &observer);
  CHECK(observer.cuts == std::vector<std::string>{"p/nothing_new", "p/nothing_new"});
  ief::ReportListWalk("p", ief::ListWalk{.end = ief::ListWalkEnd::kFailed}, last_logged, &observer);
  CHECK_FALSE(last_logged.empty());  // a failed walk says nothing about the list's shape
  ief::ReportListWalk("p", ief::ListWalk{}, last_logged, &observer);
  CHECK(last_logged.empty());
  ief::ReportListWalk("p", ief::ListWalk{.end = ief::ListWalkEnd::kPageCap}, last_logged, &observer);
  CHECK(observer.cuts.back() == "p/page_cap");
  CHECK(ief::DescribeListWalkProblem(ief::ListWalk{.count_missing = true}) ==
        "Job list without a usable job_count (missing, 0 or negative): read until a page was empty");
}
