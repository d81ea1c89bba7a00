#include "util/gzip.h"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <string>

namespace {

std::string Gunzip(const std::string& compressed) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  REQUIRE(inflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

}  // namespace

TEST_CASE("GzipCompress round-trips through zlib") {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "ief_batch_job_status{job_id=\"" + std::to_string(i) + "\"} 1\n";
  std::string compressed = ief::GzipCompress(text);
  CHECK(compressed.size() < text.size() / 4);
  CHECK(Gunzip(compressed) == text);
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
  CHECK(Gunzip(joined) == expected);  // inflate also checks the combined CRC-32 and length
}

TEST_CASE("an empty join is a valid empty gzip stream") {
  ief::GzipJoiner joiner;
  std::string joined;
  for (std::string_view piece : joiner.Finish()) joined += piece;
  CHECK(Gunzip(joined).empty());
}

TEST_CASE("AcceptsGzip reads Accept-Encoding") {
  CHECK(ief::AcceptsGzip("gzip"));
  CHECK(ief::AcceptsGzip("deflate, gzip;q=1.0, *;q=0.5"));
  CHECK(ief::AcceptsGzip("gzip;q=0.5"));
  CHECK_FALSE(ief::AcceptsGzip("gzip;q=0"));
  CHECK_FALSE(ief::AcceptsGzip("identity"));
  CHECK_FALSE(ief::AcceptsGzip(""));
}
