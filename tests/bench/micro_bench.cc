// Catch2 micro-benchmarks: parsing a large ShowBatchJob answer, rendering one job, assembling a scrape.
//   build/tests/bench/micro_bench --benchmark-samples 20
// Also prints the parse throughput in MB/s (the target is 200 MB/s or more for a 1,000-task job).
#define CATCH_CONFIG_MAIN
#define CATCH_CONFIG_ENABLE_BENCHMARKING
#include <catch2/catch.hpp>
#include <chrono>

#include "bench_data.h"
#include "model/job_parser.h"
#include "metrics/job_text.h"

namespace {

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value ? std::atoi(value) : fallback;
}

}  // namespace

TEST_CASE("parse a ShowBatchJob answer") {
  const int tasks = EnvInt("IEF_BENCH_PARSE_TASKS", 1000);
  std::string body = ief::bench::JobJson(ief::bench::MakeJob(7, tasks));
  ief::JobParser parser;
  REQUIRE(parser.ParseShowBatchJob(body).ok());
  BENCHMARK("parse " + std::to_string(tasks) + " tasks (" + std::to_string(body.size() / 1024) + " KiB)") {
    return parser.ParseShowBatchJob(body).ok();
  };
  // Throughput over a fixed number of parses, printed for the performance table.
  const int rounds = 200;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) REQUIRE(parser.ParseShowBatchJob(body).ok());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("parse_throughput_mb_per_s=%.0f body_bytes=%zu tasks=%d\n", rounds * body.size() / seconds / 1e6,
              body.size(), tasks);
}

TEST_CASE("render one job and a whole scrape") {
  const int jobs = EnvInt("IEF_BENCH_JOBS", 1000), tasks = EnvInt("IEF_BENCH_TASKS", 100);
  ief::BatchJob job = ief::bench::MakeJob(3, tasks);
  ief::JobSnapshot identity;
  identity.project_id = "0123456789abcdef0123456789abcdef";
  identity.job_id = job.job_id;
  // What a worker does with each new version of a job: render its families and deflate them.
  BENCHMARK("render and deflate one job of " + std::to_string(tasks) + " tasks") {
    return ief::RenderJob(identity, job, ief::RenderOptions{});
  };
  auto snapshot = ief::bench::MakeSnapshot(jobs, tasks);
  // What a scrape does besides writing: collect the segments and inflate them (plain) or join them (gzip).
  BENCHMARK("inflate a plain scrape of " + std::to_string(jobs) + " jobs x " + std::to_string(tasks) + " tasks") {
    auto pieces = std::make_shared<ief::TextPieces>();
    ief::AppendSnapshotText(snapshot, *pieces);
    ief::PlainTextReader reader(pieces);
    size_t total = 0;
    for (bool more = true; more;) {
      std::string chunk;
      more = reader.Next(chunk);
      total += chunk.size();
    }
    return total;
  };
  BENCHMARK("assemble a gzip scrape of " + std::to_string(jobs) + " jobs x " + std::to_string(tasks) + " tasks") {
    ief::TextPieces pieces;
    ief::AppendSnapshotText(snapshot, pieces);
    std::shared_ptr<const void> owner;
    return pieces.Gzipped(owner).size();
  };
}
