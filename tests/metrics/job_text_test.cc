#include "metrics/job_text.h"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "model/job_parser.h"
#include "metrics/exposition.h"
#include "support/fixtures.h"

namespace {

std::string Exposition(const ief::Snapshot& snapshot) { return ief::RenderSnapshot(snapshot); }

std::shared_ptr<const ief::JobSnapshot> Job(const std::string& project, const std::string& id,
                                            std::shared_ptr<const ief::BatchJob> job, bool ok, double success) {
  auto snapshot = std::make_shared<ief::JobSnapshot>();
  snapshot->project_id = project;
  snapshot->job_id = id;
  snapshot->last_good = std::move(job);
  snapshot->last_fetch_ok = ok;
  snapshot->last_success = ief::FromUnixSeconds(success);
  return snapshot;
}

// The same job with its text rendered with `options`, as the poller does.
std::shared_ptr<const ief::JobSnapshot> RenderedWith(std::shared_ptr<const ief::JobSnapshot> job,
                                                     const ief::RenderOptions& options) {
  auto rendered = std::make_shared<ief::JobSnapshot>(*job);
  rendered->rendered = ief::RenderJob(*rendered, *rendered->last_good, options);
  return rendered;
}

std::shared_ptr<const ief::BatchJob> SeedJob() {
  ief::JobParser parser;
  auto job = parser.ParseShowBatchJob(ief::testing::ReadFixture("show_batch_job_seed.json"));
  REQUIRE(job.ok());
  return std::make_shared<const ief::BatchJob>(std::move(job).value());
}

}  // namespace

// The golden file is the exact exposition for the seed job, a job whose status the docs do not list, and a job
// that was never fetched. Review changes to it line by line: dashboards and alerts read these series.
TEST_CASE("a small snapshot renders to the exact expected exposition") {
  auto odd = std::make_shared<ief::BatchJob>();
  odd->job_id = "odd";
  odd->job_name = "odd \"quoted\" name";
  odd->status = "Exploding";
  odd->has_tasks = true;
  odd->tasks.push_back({"t1", "task one", "Failed", "node offline", 1700000000, "n1", {}});
  odd->tasks.push_back({"t2", "task two", "Rebooting", "", std::nullopt, "n2", {}});

  ief::Snapshot snapshot;
  snapshot.projects = {{.project_id = "p1", .has_answered = true, .up = true}};
  snapshot.jobs = {Job("p1", "66273c66-f72e-4607-8769-3663d255fb83", SeedJob(), true, 1700000100),
                   Job("p1", "missing", nullptr, false, 0), Job("p1", "odd", odd, false, 1700000050)};
  snapshot.has_completed_round = true;
  snapshot.last_round_seconds = 0.25;
  snapshot.rounds_overrun = 1;
  std::string rendered = Exposition(snapshot);
  if (std::getenv("IEF_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(std::string(IEF_FIXTURES_DIR) + "/seed_exposition.prom", std::ios::binary) << rendered;
  }
  CHECK(rendered == ief::testing::ReadFixture("seed_exposition.prom"));
}

TEST_CASE("per-task series honour per_task_metrics and max_tasks_per_job") {
  auto job = std::make_shared<ief::BatchJob>();
  job->status = "Running";
  job->has_tasks = true;
  for (int i = 0; i < 5; ++i) {
    std::string id = "t" + std::to_string(i % 4);  // t0 appears twice: one series only
    job->tasks.push_back({id, id, "Running", "", std::nullopt, "n", {}});
  }
  ief::Snapshot snapshot;
  auto plain = Job("p", "j", job, true, 1);

  snapshot.jobs = {RenderedWith(plain, {.max_tasks_per_job = 3})};
  std::string capped = Exposition(snapshot);
  CHECK_THAT(capped, Catch::Contains("task_id=\"t2\""));
  CHECK_THAT(capped, !Catch::Contains("task_id=\"t3\""));
  // Counting by status still covers every task.
  CHECK_THAT(capped, Catch::Contains("ief_batch_job_tasks_by_status{project_id=\"p\",job_id=\"j\",status=\"Running\"} 5"));

  snapshot.jobs = {RenderedWith(plain, {.max_tasks_per_job = 1000})};
  std::string all = Exposition(snapshot);
  size_t t0_series = 0;
  for (size_t pos = 0; (pos = all.find("ief_batch_job_task_info{project_id=\"p\",job_id=\"j\",task_id=\"t0\"", pos)) !=
                       std::string::npos;
       ++pos) {
    ++t0_series;
  }
  CHECK(t0_series == 1);

  snapshot.jobs = {RenderedWith(plain, {.per_task_metrics = false})};
  CHECK_THAT(Exposition(snapshot), !Catch::Contains("ief_batch_job_task_info"));
}

TEST_CASE("failure reasons are cut to 128 characters") {
  auto job = std::make_shared<ief::BatchJob>();
  job->has_tasks = true;
  std::string reason;
  for (int i = 0; i < 200; ++i) reason += "é";
  job->tasks.push_back({"t", "t", "Failed", reason, std::nullopt, "n", {}});
  ief::Snapshot snapshot;
  snapshot.jobs = {Job("p", "j", job, true, 1)};
  std::string text = Exposition(snapshot);
  std::string expected_reason;
  for (int i = 0; i < 128; ++i) expected_reason += "é";
  CHECK_THAT(text, Catch::Contains("reason=\"" + expected_reason + "\"} 1"));
}

TEST_CASE("label values escape backslash, double quote and line feed, in job identity and in other labels") {
  auto job = std::make_shared<ief::BatchJob>();
  job->job_name = "say \"hi\"\\now\nplease";
  job->has_tasks = true;
  job->tasks.push_back({"t", "t", "Failed", "a\nb", std::nullopt, "n", {}});
  ief::Snapshot snapshot;
  snapshot.jobs = {Job("p\"1", "j\\2", job, true, 1)};
  std::string text = Exposition(snapshot);
  const std::string identity = R"({project_id="p\"1",job_id="j\\2")";
  CHECK_THAT(text, Catch::Contains("ief_batch_job_info" + identity + R"(,job_name="say \"hi\"\\now\nplease",)"));
  CHECK_THAT(text, Catch::Contains("ief_batch_job_task_failure_info" + identity + R"(,task_id="t",reason="a\nb"} 1)"));
  CHECK_THAT(text, Catch::Contains("ief_batch_job_scrape_success" + identity + "} 1"));
}

TEST_CASE("a job's series vanish when it leaves the snapshot") {
  ief::Snapshot snapshot;
  snapshot.jobs = {Job("p", "a", SeedJob(), true, 1), Job("p", "b", SeedJob(), true, 1)};
  CHECK_THAT(Exposition(snapshot), Catch::Contains("job_id=\"b\""));
  snapshot.jobs.pop_back();
  CHECK_THAT(Exposition(snapshot), !Catch::Contains("job_id=\"b\""));
}

TEST_CASE("pre-rendered text is used as is") {
  auto seed = SeedJob();
  auto job = std::make_shared<ief::JobSnapshot>();
  job->project_id = "p1";
  job->job_id = "66273c66-f72e-4607-8769-3663d255fb83";
  job->last_good = std::make_shared<const ief::BatchJob>(ief::SummaryOf(*seed));  // what the poller keeps
  job->last_fetch_ok = true;
  job->rendered = ief::RenderJob(*job, *seed, ief::RenderOptions{});
  ief::Snapshot snapshot;
  snapshot.jobs = {job};
  std::string text = Exposition(snapshot);
  CHECK_THAT(text, Catch::Contains("task_id=\"382cca3e-88e6-4a7c-bf23-b637a99761f9\""));  // from the cached text
  CHECK_THAT(text, Catch::Contains("ief_batch_job_tasks_by_status{project_id=\"p1\",job_id=\"66273c66-f72e-4607-8769-3663d255fb83\",status=\"Successful\"} 2"));
}

TEST_CASE("the exposition joins the snapshot and the prometheus-cpp sources") {
  ief::SnapshotStore store;
  ief::Exposition exposition;
  exposition.SetSnapshotSource(&store);
  CHECK(exposition.Render() == "# HELP ief_poll_rounds_overrun_total Poll rounds that did not finish within the "
                               "poll interval.\n# TYPE ief_poll_rounds_overrun_total counter\n"
                               "ief_poll_rounds_overrun_total 0\n");
  auto next = std::make_shared<ief::Snapshot>();
  next->jobs = {Job("p", "a", SeedJob(), true, 1)};
  store.Publish(next);
  CHECK_THAT(exposition.Render(), Catch::Contains("ief_batch_job_info{project_id=\"p\",job_id=\"a\""));
}

TEST_CASE("a large exposition reads the same plain (inflated chunk by chunk) and gzipped (segments joined)") {
  // 40 jobs of 1,000 tasks: each job's task family is longer than a chunk, and the whole spans many chunks.
  auto seed = SeedJob();
  auto big = std::make_shared<ief::BatchJob>(*seed);
  big->tasks.clear();
  for (int i = 0; i < 1000; ++i) {
    ief::BatchTask task = seed->tasks[0];
    task.task_id = "task-" + std::to_string(i);
    big->tasks.push_back(std::move(task));
  }
  auto snapshot = std::make_shared<ief::Snapshot>();
  for (int j = 0; j < 40; ++j) {
    snapshot->jobs.push_back(RenderedWith(Job("p", "job-" + std::to_string(j), big, true, 1), {}));
  }
  auto pieces = std::make_shared<ief::TextPieces>();
  ief::AppendSnapshotText(snapshot, *pieces);

  std::string plain;
  int chunks = 0;
  ief::PlainTextReader reader(pieces);
  bool more = true;
  while (more) {
    std::string chunk;
    more = reader.Next(chunk);
    CHECK(chunk.size() <= ief::PlainTextReader::kChunkBytes + 300 * 1000);  // a chunk, plus at most one segment
    plain += chunk;
    ++chunks;
  }
  CHECK(chunks > 20);
  CHECK(plain.size() == pieces->size());
  CHECK(plain == pieces->Flatten());
  CHECK(plain.find("ief_batch_job_task_info{project_id=\"p\",job_id=\"job-39\",task_id=\"task-999\"") !=
        std::string::npos);

  std::shared_ptr<const void> owner;
  std::string gzipped;
  for (std::string_view piece : pieces->Gzipped(owner)) gzipped += piece;
  CHECK(gzipped.size() < plain.size() / 8);
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string inflated(plain.size() + 1, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(gzipped.data());
  stream.avail_in = static_cast<uInt>(gzipped.size());
  stream.next_out = reinterpret_cast<Bytef*>(inflated.data());
  stream.avail_out = static_cast<uInt>(inflated.size());
  CHECK(inflate(&stream, Z_FINISH) == Z_STREAM_END);  // also checks the combined CRC-32 and length
  inflated.resize(stream.total_out);
  inflateEnd(&stream);
  CHECK(inflated == plain);
}

TEST_CASE("a rendered job keeps its families compressed, not as text") {
  auto seed = SeedJob();
  auto big = std::make_shared<ief::BatchJob>(*seed);
  for (int i = 0; i < 500; ++i) {
    ief::BatchTask task = seed->tasks[0];
    task.task_id = "task-" + std::to_string(i);
    big->tasks.push_back(std::move(task));
  }
  auto job = RenderedWith(Job("p", "a", big, true, 1), {});
  size_t text_length = 0;
  for (const ief::SegmentSpan& family : job->rendered->families) text_length += family.sum.length;
  CHECK(text_length > 100000);
  CHECK(job->rendered->deflated.capacity() < text_length / 8);
}
