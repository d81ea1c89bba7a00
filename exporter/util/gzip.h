// gzip for scrape responses (Prometheus always sends Accept-Encoding: gzip).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct z_stream_s;  // zlib's z_stream

namespace ief {

// Compresses `data` into a gzip member. Returns an empty string on failure (callers then send it plain).
std::string GzipCompress(std::string_view data);
// The same for text given in pieces, compressed as one stream.
std::string GzipCompress(const std::vector<std::string_view>& pieces);

// A piece of text compressed on its own as raw deflate ending in a sync flush (byte-aligned, not final), with its
// CRC-32 and length. Such segments can be joined into one gzip stream without recompressing them: a scrape joins
// the segments rendered when each job arrived instead of compressing tens of megabytes every time.
// What a gzip trailer needs of a piece of text: its CRC-32 and length, and the operator that appends its CRC to
// another one (crc32_combine_op; made once with the segment, it makes joining cheap).
struct TextSum {
  uint32_t crc = 0;
  uint32_t crc_shift = 0;
  size_t length = 0;
};
struct SegmentView {
  std::string_view bytes;
  TextSum sum;
};
struct DeflateSegment {
  std::string bytes;
  TextSum sum;
  SegmentView View() const { return {bytes, sum}; }
};
DeflateSegment MakeDeflateSegment(std::string_view text);
// The same text as stored (uncompressed) blocks: what MakeDeflateSegment falls back to when zlib fails.
DeflateSegment MakeStoredSegment(std::string_view text);

// A segment appended to a buffer that holds several (one allocation for all of a job's segments).
struct SegmentSpan {
  size_t offset = 0;  // of its bytes in the buffer
  size_t size = 0;
  TextSum sum;
  SegmentView In(std::string_view buffer) const { return {buffer.substr(offset, size), sum}; }
};
SegmentSpan AppendDeflateSegment(std::string_view text, std::string& buffer);

// Turns segments back into their text, for the rare client that does not take gzip. One per scrape.
class SegmentInflater {
 public:
  SegmentInflater();
  ~SegmentInflater();
  SegmentInflater(const SegmentInflater&) = delete;
  SegmentInflater& operator=(const SegmentInflater&) = delete;
  // Appends the segment's text to `out`; false (and `out` as it was) unless it inflates to exactly
  // `segment.sum.length` bytes.
  bool AppendText(const SegmentView& segment, std::string& out);

 private:
  z_stream_s* stream_;
};

// Joins segments into one gzip member: a header, the segments as they are, a final empty block and the trailer
// (the CRC-32 of the whole text is combined from the segments' CRCs).
class GzipJoiner {
 public:
  explicit GzipJoiner(size_t expected_segments = 0);
  void Add(const SegmentView& segment);  // the bytes must outlive the joiner's output
  // The pieces of the gzip stream (views into the joined segments and into this joiner), moved out.
  std::vector<std::string_view> Finish();

 private:
  std::string header_;
  std::string trailer_;
  std::vector<std::string_view> pieces_;
  uint32_t crc_ = 0;
  size_t length_ = 0;
};

// Whether to answer with gzip, read from an Accept-Encoding header value as RFC 9110 says: codings are
// case-insensitive ("gzip" or its alias "x-gzip", "identity", "*" for any coding not named), each with an optional
// weight ";q=" 0 to 1 with up to three decimals, whitespace allowed around ";" and ","; q=0 (also "0.000") means
// "not acceptable", and an element with a malformed weight is ignored. True when gzip is acceptable and weighs at
// least as much as a named identity (or "*" standing for it).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace ief
