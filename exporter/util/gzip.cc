#include "util/gzip.h"

#include <zlib.h>

#include <memory>
#include <optional>

#include "util/mutex.h"
#include "util/text.h"

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

// A raw-deflate compressor, reset between segments: deflateInit allocates and clears ~140 KB, far more than
// compressing a job's few kilobytes costs.
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
  // Appends the segment to `out`.
  bool Compress(std::string_view text, std::string& out) {
    if (!ready_ || deflateReset(&stream_) != Z_OK) return false;
    const size_t start = out.size();
    out.resize(start + deflateBound(&stream_, static_cast<uLong>(text.size())) + 16);
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream_.avail_in = static_cast<uInt>(text.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out.data() + start);
    stream_.avail_out = static_cast<uInt>(out.size() - start);
    // Ends byte-aligned with an empty stored block, and is not final. Room left over means nothing is pending.
    const bool done = deflate(&stream_, Z_SYNC_FLUSH) == Z_OK && stream_.avail_in == 0 && stream_.avail_out != 0;
    out.resize(start + (done ? stream_.total_out : 0));
    return done;
  }

 private:
  z_stream stream_{};
  bool ready_ = false;
};

// Compressors are reused, but not kept one per thread: each of CivetWeb's hundreds of workers would keep its own,
// with every page its largest segment touched, for as long as the process runs (a soak showed RSS rising by one
// compressor per worker that served its first scrape after a change: about 35 MB once all 256 had). A few idle
// ones wait here; a thread that finds none makes one, and it is dropped afterwards if enough are waiting.
class CompressorPool {
 public:
  std::unique_ptr<SegmentCompressor> Take() {
    {
      MutexLock lock(mutex_);
      if (!idle_.empty()) {
        std::unique_ptr<SegmentCompressor> compressor = std::move(idle_.back());
        idle_.pop_back();
        return compressor;
      }
    }
    return std::make_unique<SegmentCompressor>();
  }

  void Return(std::unique_ptr<SegmentCompressor> compressor) {
    MutexLock lock(mutex_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(compressor));
  }

 private:
  // Compressing happens where job text is rendered (the poller's workers) and for each gzip scrape's own lines;
  // a thread that finds the pool empty uses a compressor of its own, freed afterwards.
  static constexpr size_t kMaxIdle = 4;
  Mutex mutex_;
  std::vector<std::unique_ptr<SegmentCompressor>> idle_ GUARDED_BY(mutex_);
};

CompressorPool& Compressors() {
  static CompressorPool& pool = *new CompressorPool;  // never destroyed: usable by any thread until the very end
  return pool;
}

TextSum SumOf(std::string_view text) {
  return {static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size()))),
          static_cast<uint32_t>(crc32_combine_gen(static_cast<z_off_t>(text.size()))), text.size()};
}

void AppendStoredBlocks(std::string_view text, std::string& out) {
  constexpr size_t kMaxStoredBlock = 65535;  // LEN is 16 bits
  for (size_t at = 0; at < text.size(); at += kMaxStoredBlock) {
    std::string_view block = text.substr(at, kMaxStoredBlock);
    const auto length = static_cast<uint16_t>(block.size());
    out += '\0';  // BFINAL 0, BTYPE 00 (stored), then padding to the byte boundary
    for (uint16_t value : {length, static_cast<uint16_t>(~length)}) {  // LEN, NLEN, little-endian
      out += static_cast<char>(value & 0xff);
      out += static_cast<char>(value >> 8);
    }
    out += block;
  }
}

}  // namespace

SegmentSpan AppendDeflateSegment(std::string_view text, std::string& buffer) {
  SegmentSpan span{buffer.size(), 0, SumOf(text)};
  if (text.empty()) return span;
  std::unique_ptr<SegmentCompressor> compressor = Compressors().Take();
  if (compressor->Compress(text, buffer)) {
    Compressors().Return(std::move(compressor));
  } else {
    // Not expected (zlib out of memory): a corrupt segment would break every gzip scrape that joins it.
    AppendStoredBlocks(text, buffer);
  }
  span.size = buffer.size() - span.offset;
  return span;
}

DeflateSegment MakeDeflateSegment(std::string_view text) {
  DeflateSegment segment;
  SegmentSpan span = AppendDeflateSegment(text, segment.bytes);
  segment.bytes.shrink_to_fit();  // the bound reserved about the text's size; keep only what is used
  segment.sum = span.sum;
  return segment;
}

DeflateSegment MakeStoredSegment(std::string_view text) {
  DeflateSegment segment{"", SumOf(text)};
  AppendStoredBlocks(text, segment.bytes);
  return segment;
}

SegmentInflater::SegmentInflater() : stream_(new z_stream{}) {
  if (inflateInit2(stream_, -15) != Z_OK) {  // raw deflate, as the segments are made
    delete stream_;
    stream_ = nullptr;
  }
}

SegmentInflater::~SegmentInflater() {
  if (stream_ == nullptr) return;
  inflateEnd(stream_);
  delete stream_;
}

bool SegmentInflater::AppendText(const SegmentView& segment, std::string& out) {
  if (stream_ == nullptr || inflateReset(stream_) != Z_OK) return false;
  const size_t start = out.size();
  const size_t length = segment.sum.length;
  out.resize(start + length + 1);  // one byte more: text beyond the promised length is caught
  stream_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(segment.bytes.data()));
  stream_->avail_in = static_cast<uInt>(segment.bytes.size());
  stream_->next_out = reinterpret_cast<Bytef*>(out.data() + start);
  stream_->avail_out = static_cast<uInt>(length + 1);
  const int result = segment.bytes.empty() ? Z_OK : inflate(stream_, Z_SYNC_FLUSH);
  const bool whole = (result == Z_OK || result == Z_BUF_ERROR) && stream_->avail_in == 0 &&
                     stream_->avail_out == 1;
  out.resize(whole ? start + length : start);
  return whole;
}

GzipJoiner::GzipJoiner(size_t expected_segments) {
  // ID1 ID2, CM=deflate, no flags, no mtime, XFL=0, OS=unknown
  header_ = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  pieces_.reserve(expected_segments + 2);
  pieces_.push_back(header_);
}

void GzipJoiner::Add(const SegmentView& segment) {
  if (segment.sum.length == 0) return;
  pieces_.push_back(segment.bytes);
  crc_ = static_cast<uint32_t>(crc32_combine_op(crc_, segment.sum.crc, segment.sum.crc_shift));
  length_ += segment.sum.length;
}

std::vector<std::string_view> GzipJoiner::Finish() {
  trailer_ = std::string("\x03\x00", 2);  // a final, empty, fixed-Huffman block
  for (uint32_t value : {crc_, static_cast<uint32_t>(length_)}) {
    for (int i = 0; i < 4; ++i) trailer_ += static_cast<char>((value >> (8 * i)) & 0xff);
  }
  pieces_.push_back(trailer_);
  return std::move(pieces_);
}

namespace {

// An RFC 9110 qvalue in thousandths: "0", "0.5", "1.000"; nullopt when it is not one.
std::optional<int> ParseQValue(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  int thousandths = (text[0] - '0') * 1000;
  if (text.size() == 1) return thousandths;
  if (text[1] != '.' || text.size() > 5) return std::nullopt;
  int scale = 100;
  for (char digit : text.substr(2)) {
    if (digit < '0' || digit > '9') return std::nullopt;
    thousandths += (digit - '0') * scale;
    scale /= 10;
  }
  if (thousandths > 1000) return std::nullopt;  // "1.5"
  return thousandths;
}

// The weight of one element, "gzip" or "gzip;q=0.5" (q defaults to 1); nullopt when its q is not a qvalue.
std::optional<int> ElementWeight(std::string_view parameters) {
  int weight = 1000;
  while (!parameters.empty()) {
    size_t semicolon = parameters.find(';', 1);
    std::string_view parameter = TrimWhitespace(parameters.substr(1, semicolon == std::string_view::npos
                                                                         ? std::string_view::npos
                                                                         : semicolon - 1));
    parameters = semicolon == std::string_view::npos ? std::string_view() : parameters.substr(semicolon);
    size_t equals = parameter.find('=');
    if (equals == std::string_view::npos) continue;
    if (!EqualsIgnoringCase(TrimWhitespace(parameter.substr(0, equals)), "q")) continue;
    std::optional<int> q = ParseQValue(TrimWhitespace(parameter.substr(equals + 1)));
    if (!q) return std::nullopt;
    weight = *q;
  }
  return weight;
}

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  std::optional<int> gzip, identity, any;  // weights of the elements that name them, in thousandths
  while (!accept_encoding.empty()) {
    size_t comma = accept_encoding.find(',');
    std::string_view element = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    size_t semicolon = element.find(';');
    std::string_view coding = TrimWhitespace(element.substr(0, semicolon));
    std::optional<int> weight =
        ElementWeight(semicolon == std::string_view::npos ? std::string_view() : element.substr(semicolon));
    if (!weight) continue;  // a malformed weight: as if the element were not there
    if (EqualsIgnoringCase(coding, "gzip") || EqualsIgnoringCase(coding, "x-gzip")) gzip = weight;
    if (EqualsIgnoringCase(coding, "identity")) identity = weight;
    if (coding == "*") any = weight;
  }
  // "*" stands for every coding the header does not name. gzip goes when it is acceptable (q > 0) and the client
  // does not prefer the plain text; plain text needs no mention to be acceptable, so only a named weight counts.
  const int gzip_weight = gzip.value_or(any.value_or(0));
  std::optional<int> plain_weight = identity ? identity : any;
  return gzip_weight > 0 && (!plain_weight || gzip_weight >= *plain_weight);
}

}  // namespace ief
