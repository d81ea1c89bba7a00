#include "poll/history_file.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "support/fixtures.h"

namespace {

ief::HistoryState Sample() {
  ief::HistoryState state{.shard = 1, .total_shards = 3};
  ief::ProjectHistory& project = state.projects["p1"];
  project.since = 1700000000;
  project.first_views_after = 1700000000;
  project.watermark = 1700000900;
  ief::JobHistory& job = project.jobs["job-1"];
  job.counted = ief::StatusView{.status = "Failed", .updated_at = 1700000800, .created_at = 1699999000,
                                .source = ief::ViewSource::kStored};
  job.tasks = ief::TaskBaseline{.job_updated_at = 1700000800,
                                .finished = {{{"Failed", "image_pull"}, 3}, {{"Successful", "none"}, 97}},
                                .failed_targets = std::vector<std::string>{"edge-1", "edge-2", "edge-7"},
                                .retried_at = std::nullopt};
  job.tasks_from_zero = false;
  job.news_after = 1699999999;
  project.jobs["job-2"].counted = ief::StatusView{.status = "Running", .source = ief::ViewSource::kStored};
  project.jobs["job-2"].tasks = ief::TaskBaseline{.retried_at = 1700000850};  // node failures not counted
  project.jobs["job-2"].tasks_from_zero = true;
  state.projects["p2"].since = 1700000000;
  return state;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("the state file holds exactly what was counted") {
  const ief::HistoryState state = Sample();
  ief::Result<ief::HistoryState> read = ief::DecodeHistory(ief::EncodeHistory(state));
  REQUIRE(read.ok());
  CHECK(*read == state);

  ief::testing::TempFile file("", ".json");
  REQUIRE(ief::WriteHistoryFile(file.path(), state).ok());
  CHECK_FALSE(std::filesystem::exists(file.path() + ".tmp"));
  CHECK((std::filesystem::status(file.path()).permissions() & std::filesystem::perms::others_read) ==
        std::filesystem::perms::none);
  ief::Result<ief::HistoryState> from_disk = ief::ReadHistoryFile(file.path());
  REQUIRE(from_disk.ok());
  CHECK(*from_disk == state);
}

TEST_CASE("a restart resumes first views after the stored watermark") {
  ief::HistoryState resumed = ief::ResumeAfterRestart(Sample());
  CHECK(resumed.projects.at("p1").first_views_after == 1700000899);  // its own second included
  CHECK(resumed.projects.at("p2").first_views_after == 1699999999);  // its start's own second included
}

TEST_CASE("a damaged, foreign or hostile state file is refused, never half used") {
  const std::string good = ief::EncodeHistory(Sample());
  const std::string body_without_checksum = good.substr(0, good.find("\"sha256\""));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"truncated", good.substr(0, good.size() / 2)},
      {"one byte changed", Replace(good, "\"Failed\",\"image_pull\",3", "\"Failed\",\"image_pull\",4")},
      {"not JSON", "\x7f" "ELF\x02\x01\x01"},
      {"another program's JSON", R"({"version":1,"projects":{}})"},
      {"a newer version", Replace(good, "\"version\":1", "\"version\":2")},
      {"no checksum", body_without_checksum + "\"total_shards\":3}"},
      {"nested ten thousand deep", std::string(10000, '[') + std::string(10000, ']')},
      {"a watermark beyond 64 signed bits", Replace(good, "\"watermark\":1700000900", "\"watermark\":18446744073709551615")},
      {"a time from the far future", Replace(good, "\"watermark\":1700000900", "\"watermark\":99999999999")},
  };
  for (const auto& [name, text] : cases) {
    INFO(name);
    ief::Result<ief::HistoryState> read = ief::DecodeHistory(text);
    REQUIRE_FALSE(read.ok());
    CHECK(read.error().kind == ief::ErrorKind::kParse);
  }
}

TEST_CASE("values the format does not allow are refused even under a valid checksum") {
  auto encode_with = [](const std::function<void(ief::HistoryState&)>& spoil) {
    ief::HistoryState state = Sample();
    spoil(state);
    return ief::EncodeHistory(state);
  };
  CHECK_FALSE(ief::DecodeHistory(encode_with([](auto& s) { s.projects["../etc"]; })).ok());
  CHECK_FALSE(ief::DecodeHistory(encode_with([](auto& s) { s.projects["p1"].jobs["a b"]; })).ok());
  CHECK_FALSE(ief::DecodeHistory(encode_with([](auto& s) {
                s.projects["p1"].jobs["job-1"].tasks->finished[{"Failed", "other"}] = -5;
              })).ok());
  CHECK_FALSE(ief::DecodeHistory(encode_with([](auto& s) {
                s.projects["p1"].jobs["job-1"].counted->status = std::string(5000, 'x');
              })).ok());
  CHECK_FALSE(ief::DecodeHistory(encode_with([](auto& s) { s.shard = 7; })).ok());
}

TEST_CASE("reading a state file that is not a regular file fails") {
  char directory[] = "/tmp/ief-history-XXXXXX";
  REQUIRE(::mkdtemp(directory) != nullptr);
  CHECK_FALSE(ief::ReadHistoryFile(directory).ok());
  std::filesystem::remove_all(directory);
}

TEST_CASE("a write into a directory that cannot take it fails cleanly, leaving the old file") {
  char directory[] = "/tmp/ief-history-XXXXXX";
  REQUIRE(::mkdtemp(directory) != nullptr);
  const std::string path = std::string(directory) + "/history.json";
  REQUIRE(ief::WriteHistoryFile(path, Sample()).ok());
  CHECK_FALSE(ief::WriteHistoryFile(std::string(directory) + "/missing/history.json", Sample()).ok());
  if (::geteuid() != 0) {  // root writes into a read-only directory all the same
    ::chmod(directory, 0500);
    CHECK_FALSE(ief::WriteHistoryFile(path, ief::HistoryState{}).ok());
    ::chmod(directory, 0700);
  }
  ief::Result<ief::HistoryState> kept = ief::ReadHistoryFile(path);
  REQUIRE(kept.ok());
  CHECK(*kept == Sample());
  std::filesystem::remove_all(directory);
}

TEST_CASE("the fuzzer's seed is a valid state file") {
  ief::Result<ief::HistoryState> seed = ief::ReadHistoryFile(std::string(IEF_SOURCE_DIR) + "/tests/fuzz/corpus/history/state.json");
  REQUIRE(seed.ok());
  CHECK(seed->total_shards == 2);
  CHECK(seed->projects.begin()->second.jobs.size() == 3);
}

TEST_CASE("after a resharding, a job that moved keeps what another shard's file counted of it") {
  auto failed_at = [](int64_t updated, int64_t tasks_at) {
    ief::JobHistory history;
    history.counted = ief::StatusView{.status = "Failed", .updated_at = updated, .created_at = 1699999000,
                                      .source = ief::ViewSource::kStored};
    history.tasks = ief::TaskBaseline{.job_updated_at = tasks_at, .finished = {{{"Failed", "other"}, 2}}};
    return history;
  };
  ief::HistoryState own{.shard = 0, .total_shards = 2};
  own.projects["p1"] = {.since = 1700000000, .first_views_after = 1700000500, .watermark = 1700000600};
  own.projects["p1"].jobs["stays"] = failed_at(1700000100, 1700000100);
  own.projects["p1"].jobs["came-back"] = failed_at(1700000100, 1700000100);  // ours before it left, then retried
  own.projects["p1"].jobs["ours-newer"] = failed_at(1700000300, 1700000300);
  own.projects["p1"].jobs["same-view"] = failed_at(1700000300, 1700000200);
  own.projects["p1"].jobs["fewer-tasks"] = failed_at(1700000300, 1700000300);  // a replica scaled away and back

  ief::HistoryState old_owner{.shard = 1, .total_shards = 3};
  old_owner.projects["p1"] = {.since = 1690000000, .first_views_after = 1690000000, .watermark = 1690000000};
  old_owner.projects["p1"].jobs["moved"] = failed_at(1700000400, 1700000400);
  old_owner.projects["p1"].jobs["came-back"] = failed_at(1700000450, 1700000450);
  old_owner.projects["p1"].jobs["ours-newer"] = failed_at(1700000200, 1700000200);
  old_owner.projects["p1"].jobs["same-view"] = failed_at(1700000300, 1700000300);
  old_owner.projects["p1"].jobs["not-mine"] = failed_at(1700000400, 1700000400);
  old_owner.projects["p1"].jobs["fewer-tasks"] = failed_at(1700000300, 1700000300);
  old_owner.projects["p1"].jobs["fewer-tasks"].tasks->finished[{"Successful", "none"}] = 2;
  old_owner.projects["p2"] = {.since = 1690000000, .first_views_after = 1690000000, .watermark = 1690000000};
  old_owner.projects["p2"].jobs["moved-too"] = failed_at(1700000400, 1700000400);
  old_owner.projects["p3"] = {.since = 1690000000};  // nothing of it is ours: not taken at all

  const ief::HistoryState before = own;
  auto mine = [](std::string_view job_id) { return job_id != "not-mine"; };
  CHECK(ief::AdoptMovedJobs(own, {old_owner}, mine, 1700001000) == 5);
  const auto& jobs = own.projects.at("p1").jobs;
  CHECK(jobs.at("stays") == before.projects.at("p1").jobs.at("stays"));
  CHECK(jobs.at("moved") == old_owner.projects.at("p1").jobs.at("moved"));
  CHECK(jobs.at("came-back") == old_owner.projects.at("p1").jobs.at("came-back"));
  CHECK(jobs.at("ours-newer") == before.projects.at("p1").jobs.at("ours-newer"));
  CHECK(jobs.at("same-view").tasks->job_updated_at == 1700000300);  // the same status, tasks counted further
  CHECK(jobs.count("not-mine") == 0);
  CHECK(jobs.at("fewer-tasks") == old_owner.projects.at("p1").jobs.at("fewer-tasks"));  // tasks counted further
  // Our own points stay; a project only the sibling knew starts now, not at the sibling's long-past points.
  CHECK(own.projects.at("p1").first_views_after == 1700000500);
  CHECK(own.projects.at("p2").since == 1700001000);
  CHECK(own.projects.at("p2").first_views_after == 1700000999);
  CHECK(own.projects.at("p2").jobs.count("moved-too") == 1);
  CHECK(own.projects.count("p3") == 0);
  // Taking it again changes nothing.
  const ief::HistoryState merged = own;
  CHECK(ief::AdoptMovedJobs(own, {old_owner}, mine, 1700002000) == 0);
  CHECK(own == merged);
}

TEST_CASE("a replica new to the directory starts each project where the other shards' files had got to") {
  ief::HistoryState one, two, own;
  one.projects["p1"] = {.since = 1700000000, .first_views_after = 1700000400, .watermark = 1700000500};
  two.projects["p1"] = {.since = 1690000000, .first_views_after = 1700000100, .watermark = 1700000200};
  two.projects["p2"] = {.since = 1700000000, .first_views_after = 1700000300, .watermark = 1700000300};
  own.projects["p2"] = {.since = 1700000900, .first_views_after = 1700000900, .watermark = 1700000900};
  ief::StartWhereSiblingsGot(own, {one, two});
  const ief::ProjectHistory expected{.since = 1690000000, .first_views_after = 1700000100, .watermark = 1700000200};
  CHECK(own.projects.at("p1") == expected);  // the earliest point: nothing after it was known to all of them
  CHECK(own.projects.at("p2").since == 1700000900);  // known: kept
}
