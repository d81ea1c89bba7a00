#include "util/gzip.h"

#include <zlib.h>

#include <catch2/catch.hpp>

#include "support/gunzip.h"
#include <string>

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
  ief::GzipJoiner joiner;
  for (const auto& segment : segments) joiner.Add(segment);
  std::string joined;
  for (std::string_view piece : joiner.Finish()) joined += piece;
  CHECK(joined.size() < expected.size() / 4);
  CHECK(ief::testing::Gunzip(joined) == expected);  // inflate also checks the combined CRC-32 and length
}

TEST_CASE("an empty join is a valid empty gzip stream") {
  ief::GzipJoiner joiner;
  std::string joined;
  for (std::string_view piece : joiner.Finish()) joined += piece;
  CHECK(ief::testing::Gunzip(joined).empty());
}

TEST_CASE("AcceptsGzip reads Accept-Encoding") {
  CHECK(ief::AcceptsGzip("gzip"));
  CHECK(ief::AcceptsGzip("deflate, gzip;q=1.0, *;q=0.5"));
  CHECK(ief::AcceptsGzip("gzip;q=0.5"));
  CHECK_FALSE(ief::AcceptsGzip("gzip;q=0"));
  CHECK_FALSE(ief::AcceptsGzip("identity"));
  CHECK_FALSE(ief::AcceptsGzip(""));
}
