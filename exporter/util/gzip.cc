#include "util/gzip.h"

#include <zlib.h>

namespace ief {

std::string GzipCompress(const std::vector<std::string_view>& pieces) {
  z_stream stream{};
  // windowBits 15 + 16 selects the gzip wrapper; level 1: scrapes want speed more than the last few percent.
  if (deflateInit2(&stream, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return "";
  size_t total = 0;
  for (std::string_view piece : pieces) total += piece.size();
  std::string out;
  out.resize(deflateBound(&stream, static_cast<uLong>(total)) + 64);
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int result = Z_OK;
  for (size_t i = 0; i <= pieces.size() && result == Z_OK; ++i) {
    bool last = i == pieces.size();
    std::string_view piece = last ? std::string_view() : pieces[i];
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
    stream.avail_in = static_cast<uInt>(piece.size());
    result = deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH);
    if (!last && stream.avail_in != 0) result = Z_BUF_ERROR;  // the bound was too small: give up, send plain
  }
  size_t written = stream.total_out;
  deflateEnd(&stream);
  if (result != Z_STREAM_END) return "";
  out.resize(written);
  return out;
}

std::string GzipCompress(std::string_view data) { return GzipCompress(std::vector<std::string_view>{data}); }

namespace {

// One raw-deflate compressor per thread, reset between segments: deflateInit allocates and clears ~300 KB, far
// more than compressing a job's few kilobytes costs.
class SegmentCompressor {
 public:
  SegmentCompressor() {
    // windowBits -15: raw deflate, no wrapper; level 1 as for whole scrapes.
    // memLevel 2: a small hash table, so deflateReset (which clears it) stays cheap for segments of a few KB.
    ready_ = deflateInit2(&stream_, 1, Z_DEFLATED, -15, 2, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~SegmentCompressor() {
    if (ready_) deflateEnd(&stream_);
  }
  bool Compress(std::string_view text, std::string& out) {
    if (!ready_ || deflateReset(&stream_) != Z_OK) return false;
    out.resize(deflateBound(&stream_, static_cast<uLong>(text.size())) + 16);
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream_.avail_in = static_cast<uInt>(text.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out.data());
    stream_.avail_out = static_cast<uInt>(out.size());
    deflate(&stream_, Z_SYNC_FLUSH);  // ends byte-aligned with an empty stored block, and is not final
    out.resize(stream_.total_out);
    out.shrink_to_fit();  // the bound reserved about the text's size; keep only what is used
    return stream_.avail_in == 0;
  }

 private:
  z_stream stream_{};
  bool ready_ = false;
};

}  // namespace

DeflateSegment MakeDeflateSegment(std::string_view text) {
  DeflateSegment segment;
  segment.length = text.size();
  segment.crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
  if (text.empty()) return segment;
  thread_local SegmentCompressor compressor;
  if (!compressor.Compress(text, segment.bytes)) {
    SegmentCompressor fresh;  // not expected: retry once with a compressor of its own
    fresh.Compress(text, segment.bytes);
  }
  return segment;
}

GzipJoiner::GzipJoiner() {
  // ID1 ID2, CM=deflate, no flags, no mtime, XFL=0, OS=unknown
  header_ = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  pieces_.push_back(header_);
}

void GzipJoiner::Add(const DeflateSegment& segment) {
  if (segment.length == 0) return;
  pieces_.push_back(segment.bytes);
  crc_ = static_cast<uint32_t>(crc32_combine(crc_, segment.crc, static_cast<z_off_t>(segment.length)));
  length_ += segment.length;
}

const std::vector<std::string_view>& GzipJoiner::Finish() {
  trailer_ = std::string("\x03\x00", 2);  // a final, empty, fixed-Huffman block
  for (uint32_t value : {crc_, static_cast<uint32_t>(length_)}) {
    for (int i = 0; i < 4; ++i) trailer_ += static_cast<char>((value >> (8 * i)) & 0xff);
  }
  pieces_.push_back(trailer_);
  return pieces_;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  // "gzip", "gzip, deflate", "deflate, gzip;q=1.0"; "gzip;q=0" refuses it.
  size_t pos = accept_encoding.find("gzip");
  if (pos == std::string_view::npos) return false;
  std::string_view rest = accept_encoding.substr(pos + 4);
  size_t comma = rest.find(',');
  std::string_view params = rest.substr(0, comma);
  return params.find("q=0") == std::string_view::npos || params.find("q=0.") != std::string_view::npos;
}

}  // namespace ief
