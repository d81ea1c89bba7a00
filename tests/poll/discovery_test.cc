#include "poll/discovery.h"

#include <catch2/catch.hpp>
#include <limits>
#include <set>

namespace {

ief::BatchJob Summary(const std::string& id, const std::string& name, const std::string& type, int64_t created) {
  ief::BatchJob job;
  job.job_id = id;
  job.job_name = name;
  job.job_type = type;
  job.created_at = created;
  return job;
}

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
