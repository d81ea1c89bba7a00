#include "util/gzip.h"

#include <zlib.h>

#include <catch2/catch.hpp>

#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "support/gunzip.h"

namespace {

std::string Joined(const std::vector<ief::DeflateSegment>& segments) {
  ief::GzipJoiner joiner;
  for (const auto& segment : segments) joiner.Add(segment.View());
  std::string joined;
  for (std::string_view piece : joiner.Finish()) joined += piece;
  return joined;
}

}  // namespace

TEST_CASE("GzipCompress round-trips through zlib") {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "ief_batch_job_status{job_id=\"" + std::to_string(i) + "\"} 1\n";
  std::string compressed = ief::GzipCompress(text);
  CHECK(compressed.size() < text.size() / 4);
  CHECK(ief::testing::Gunzip(compressed) == text);
}

TEST_CASE("deflate segments join into one valid gzip stream") {
  std::vector<std::string> texts = {"# HELP a A.\n", "", std::string(100000, 'x'), "a{b=\"c\"} 1\n"};
  for (int i = 0; i < 300; ++i) texts.push_back("series_" + std::to_string(i) + " " + std::to_string(i) + "\n");
  std::vector<ief::DeflateSegment> segments;
  std::string expected;
  for (const auto& text : texts) {
    segments.push_back(ief::MakeDeflateSegment(text));
    expected += text;
  }
  std::string joined = Joined(segments);
  CHECK(joined.size() < expected.size() / 4);
  CHECK(ief::testing::Gunzip(joined) == expected);  // inflate also checks the combined CRC-32 and length
}

TEST_CASE("an empty join is a valid empty gzip stream") {
  CHECK(ief::testing::Gunzip(Joined({})).empty());
}

TEST_CASE("AcceptsGzip reads Accept-Encoding") {
  CHECK(ief::AcceptsGzip("gzip"));
  CHECK(ief::AcceptsGzip("deflate, gzip;q=1.0, *;q=0.5"));
  CHECK(ief::AcceptsGzip("gzip;q=0.5"));
  CHECK_FALSE(ief::AcceptsGzip("gzip;q=0"));
  CHECK_FALSE(ief::AcceptsGzip("identity"));
  CHECK_FALSE(ief::AcceptsGzip(""));
}

TEST_CASE("AcceptsGzip follows RFC 9110: q=0 in any spelling refuses gzip, names are case-insensitive") {
  for (const char* refused : {"gzip;q=0.0", "gzip; q=0.000", "gzip ;Q=0", "GZIP;q=0.00", "gzip;q=0, deflate",
                              "x-gzip;q=0", "*;q=0", "deflate, br", "gzip;q=0, *;q=1", "gzip;q=0.001, identity"}) {
    INFO(refused);
    CHECK_FALSE(ief::AcceptsGzip(refused));
  }
  for (const char* accepted : {"GZIP", "x-gzip", "gzip;q=0.001", "gzip ; q=1.000", "deflate;q=0.5 , gzip",
                               "*", "*;q=0.1", "br, *;q=0.5, identity;q=0.5", "identity;q=0, gzip;q=0.1",
                               "gzip;level=9", "gzip;q=0.5, identity;q=0.5"}) {
    INFO(accepted);
    CHECK(ief::AcceptsGzip(accepted));
  }
  // A malformed weight is no weight: the element is ignored.
  for (const char* malformed : {"gzip;q=", "gzip;q=2", "gzip;q=1.5", "gzip;q=0.0001", "gzip;q=abc", "gzip;q=.5",
                                "gzip;q=-1"}) {
    INFO(malformed);
    CHECK_FALSE(ief::AcceptsGzip(malformed));
  }
  CHECK(ief::AcceptsGzip("gzip;q=abc, *;q=0.5"));  // "*" still stands for gzip then
}

TEST_CASE("stored segments (the fallback when zlib fails) join with deflated ones into a valid stream") {
  std::vector<ief::DeflateSegment> segments;
  std::string expected;
  int i = 0;
  for (size_t size : {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{200000}}) {
    std::string text(size, static_cast<char>('a' + i++));
    segments.push_back(i % 2 ? ief::MakeStoredSegment(text) : ief::MakeDeflateSegment(text));
    segments.push_back(ief::MakeStoredSegment("line " + std::to_string(size) + "\n"));
    expected += text + "line " + std::to_string(size) + "\n";
  }
  CHECK(ief::MakeStoredSegment(std::string(65536, 'x')).bytes.size() == 65536 + 2 * 5);  // two blocks, 5-byte heads
  CHECK(ief::testing::Gunzip(Joined(segments)) == expected);
}

TEST_CASE("segments made on many threads at once are each a valid part of a stream") {
  // Compressors are shared between threads (a small pool): none may be used by two threads at once.
  constexpr int kThreads = 8;
  constexpr int kSegmentsPerThread = 40;
  std::vector<std::vector<ief::DeflateSegment>> made(kThreads);
  std::vector<std::string> expected(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &made, &expected, &start] {
      start.arrive_and_wait();
      for (int i = 0; i < kSegmentsPerThread; ++i) {
        std::string text;
        for (int line = 0; line < 50 + 20 * i; ++line) {
          text += "ief_batch_task_status{thread=\"" + std::to_string(t) + "\",task=\"" + std::to_string(line) + "\"} " +
                  std::to_string(line * (t + 1) % 7) + "\n";
        }
        made[t].push_back(ief::MakeDeflateSegment(text));
        expected[t] += text;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) CHECK(ief::testing::Gunzip(Joined(made[t])) == expected[t]);
}

TEST_CASE("segments appended to one buffer inflate back to their text, and only to it") {
  std::string buffer;
  std::vector<std::string> texts = {"", "a{b=\"c\"} 1\n", std::string(70000, 'y'), "# HELP a A.\n"};
  std::vector<ief::SegmentSpan> spans;
  for (const std::string& text : texts) spans.push_back(ief::AppendDeflateSegment(text, buffer));
  ief::SegmentInflater inflater;
  std::string out = "kept ";
  for (const ief::SegmentSpan& span : spans) REQUIRE(inflater.AppendText(span.In(buffer), out));
  CHECK(out == "kept " + texts[0] + texts[1] + texts[2] + texts[3]);
  CHECK(ief::testing::Gunzip([&] {
          ief::GzipJoiner joiner;
          for (const ief::SegmentSpan& span : spans) joiner.Add(span.In(buffer));
          std::string joined;
          for (std::string_view piece : joiner.Finish()) joined += piece;
          return joined;
        }()) == texts[0] + texts[1] + texts[2] + texts[3]);

  // A segment that promises another length, or is cut, is refused and leaves `out` as it was.
  ief::SegmentView wrong = spans[2].In(buffer);
  for (size_t length : {wrong.sum.length - 1, wrong.sum.length + 1}) {
    ief::SegmentView view = wrong;
    view.sum.length = length;
    CHECK_FALSE(inflater.AppendText(view, out));
  }
  ief::SegmentView cut = wrong;
  cut.bytes = cut.bytes.substr(0, cut.bytes.size() / 2);
  CHECK_FALSE(inflater.AppendText(cut, out));
  CHECK(out == "kept " + texts[0] + texts[1] + texts[2] + texts[3]);
  CHECK(inflater.AppendText(spans[1].In(buffer), out));  // usable again after a refusal
}
