#include "ief/http1_parser.h"

#include <charconv>

#include "util/gzip.h"
#include "util/text.h"

namespace ief {
namespace {

// Limits on what a server may send before the body: generous for any real API, small enough to bound memory.
constexpr size_t kMaxHeadBytes = 64 * 1024;
constexpr size_t kMaxChunkLineBytes = 1024;

// Whether a comma-separated header value lists `token` (case-insensitive), as Connection and
// Transfer-Encoding do.
bool ListsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    if (EqualsIgnoringCase(TrimWhitespace(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// A non-negative decimal or hexadecimal number that fits in 64 bits, with nothing else around it.
bool ParseNumber(std::string_view text, int base, uint64_t& value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

void Http1ResponseParser::Reset() {
  state_ = State::kNeedMore;
  error_.clear();
  buffer_.clear();
  scanned_ = 0;
  started_ = false;
  in_body_ = false;
  trailing_bytes_ = false;
  framing_ = Framing::kUntilClose;
  chunk_step_ = ChunkStep::kSize;
  raw_body_.clear();
  ForgetHead();
}

// What a status line and its headers set: cleared for each response, and again after an interim 1xx answer.
void Http1ResponseParser::ForgetHead() {
  response_ = HttpResponse{};
  keep_alive_ = true;
  has_length_ = false;
  chunked_ = false;
  remaining_ = 0;
  coding_ = Coding::kIdentity;
}

Http1ResponseParser::State Http1ResponseParser::Fail(std::string message) {
  state_ = State::kError;
  error_ = "malformed HTTP response: " + std::move(message);
  return state_;
}

Http1ResponseParser::State Http1ResponseParser::Feed(std::string_view bytes) {
  if (state_ != State::kNeedMore) {
    if (!bytes.empty()) trailing_bytes_ = true;  // nothing was asked for: the connection is out of step
    return state_;
  }
  if (!bytes.empty()) started_ = true;
  buffer_.append(bytes);
  while (state_ == State::kNeedMore) {
    if (!in_body_) {
      State head = ParseHead();
      if (head != State::kDone) return head;  // more bytes needed, or an error
      continue;                               // a 1xx answer was skipped, or the body starts
    }
    return ParseBody();
  }
  return state_;
}

// Reads the status line and headers once they are complete. kDone here means "head consumed".
Http1ResponseParser::State Http1ResponseParser::ParseHead() {
  size_t from = scanned_ > 3 ? scanned_ - 3 : 0;
  size_t end = buffer_.find("\r\n\r\n", from);
  if (end == std::string::npos) {
    scanned_ = buffer_.size();
    if (buffer_.size() > kMaxHeadBytes) return Fail("headers larger than " + std::to_string(kMaxHeadBytes) + " bytes");
    return State::kNeedMore;
  }
  if (end > kMaxHeadBytes) return Fail("headers larger than " + std::to_string(kMaxHeadBytes) + " bytes");
  std::string_view head(buffer_.data(), end);
  size_t line_end = head.find("\r\n");
  if (!ParseStatusLine(head.substr(0, line_end))) return state_;
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    if (!ParseHeader(head.substr(0, line_end))) return state_;
  }
  buffer_.erase(0, end + 4);
  scanned_ = 0;
  if (response_.status >= 100 && response_.status < 200) {  // an interim answer: the real one follows
    if (response_.status == 101) return Fail("unexpected protocol switch");
    ForgetHead();
    return State::kDone;
  }
  if (response_.status == 204 || response_.status == 304) {
    framing_ = Framing::kNone;
  } else if (chunked_) {
    framing_ = Framing::kChunked;  // wins over Content-Length (RFC 9112, 6.3)
  } else if (has_length_) {
    framing_ = Framing::kLength;
    if (remaining_ > max_body_bytes_) return TooLarge();
    raw_body_.reserve(remaining_);
  } else {
    framing_ = Framing::kUntilClose;
    keep_alive_ = false;
  }
  in_body_ = true;
  return State::kDone;
}

bool Http1ResponseParser::ParseStatusLine(std::string_view line) {
  // "HTTP/1.1 200 OK": the version, a space, three digits, then an optional reason.
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
    Fail("bad status line");
    return false;
  }
  if (line[7] != '0' && line[7] != '1') {
    Fail("unsupported HTTP version");
    return false;
  }
  keep_alive_ = line[7] == '1';  // HTTP/1.0 closes unless it says keep-alive
  uint64_t status = 0;
  if (!ParseNumber(line.substr(9, 3), 10, status) || status < 100 || status > 599) {
    Fail("bad status code");
    return false;
  }
  response_.status = static_cast<long>(status);
  return true;
}

bool Http1ResponseParser::ParseHeader(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' || line.front() == '\t') {
    Fail("bad header line");  // also refuses obsolete line folding
    return false;
  }
  std::string_view name = line.substr(0, colon);
  std::string_view value = TrimWhitespace(line.substr(colon + 1));
  auto is = [&](std::string_view wanted) { return EqualsIgnoringCase(name, wanted); };
  if (is("content-length")) {
    uint64_t length = 0;
    if (!ParseNumber(value, 10, length) || (has_length_ && length != remaining_)) {
      Fail("bad Content-Length");
      return false;
    }
    has_length_ = true;
    remaining_ = length;
  } else if (is("transfer-encoding")) {
    if (!ListsToken(value, "chunked")) {
      Fail("unsupported Transfer-Encoding");
      return false;
    }
    chunked_ = true;
  } else if (is("content-encoding")) {
    if (ListsToken(value, "gzip") || ListsToken(value, "x-gzip") || ListsToken(value, "deflate")) {
      coding_ = Coding::kGzipOrDeflate;
    } else if (!value.empty() && !EqualsIgnoringCase(value, "identity")) {
      Fail("unsupported Content-Encoding");
      return false;
    }
  } else if (is("connection")) {
    if (ListsToken(value, "close")) keep_alive_ = false;
    if (ListsToken(value, "keep-alive")) keep_alive_ = true;
  } else {
    KeepResponseHeader(name, value, response_);
  }
  return true;
}

Http1ResponseParser::State Http1ResponseParser::ParseBody() {
  switch (framing_) {
    case Framing::kNone:
      if (!buffer_.empty()) trailing_bytes_ = true;
      return Finish();
    case Framing::kLength: {
      size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, buffer_.size()));
      raw_body_.append(buffer_, 0, take);
      remaining_ -= take;
      if (take < buffer_.size()) trailing_bytes_ = true;
      buffer_.clear();
      return remaining_ == 0 ? Finish() : State::kNeedMore;
    }
    case Framing::kChunked:
      return ParseChunks();
    case Framing::kUntilClose:
      if (!AppendBody(buffer_)) return state_;
      buffer_.clear();
      return State::kNeedMore;
  }
  return State::kNeedMore;
}

// Worded like CurlTransport's refusal, so logs read the same whichever transport answered.
Http1ResponseParser::State Http1ResponseParser::TooLarge() {
  state_ = State::kError;
  error_ = "response larger than " + std::to_string(max_body_bytes_) + " bytes";
  return state_;
}

bool Http1ResponseParser::AppendBody(std::string_view data) {
  if (raw_body_.size() + data.size() > max_body_bytes_) {
    TooLarge();
    return false;
  }
  raw_body_.append(data);
  return true;
}

// chunk = size-in-hex [;extensions] CRLF data CRLF; the last chunk has size 0 and is followed by optional
// trailer lines and an empty line.
Http1ResponseParser::State Http1ResponseParser::ParseChunks() {
  size_t pos = 0;
  while (true) {
    if (chunk_step_ == ChunkStep::kData) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, buffer_.size() - pos));
      if (!AppendBody(std::string_view(buffer_).substr(pos, take))) return state_;
      pos += take;
      remaining_ -= take;
      if (remaining_ > 0) break;
      chunk_step_ = ChunkStep::kDataEnd;
      continue;
    }
    size_t eol = buffer_.find("\r\n", pos);
    if (eol == std::string::npos) {
      if (buffer_.size() - pos > kMaxChunkLineBytes) return Fail("chunk line too long");
      break;
    }
    std::string_view line(buffer_.data() + pos, eol - pos);
    if (line.size() > kMaxChunkLineBytes) return Fail("chunk line too long");
    pos = eol + 2;
    if (chunk_step_ == ChunkStep::kDataEnd) {
      if (!line.empty()) return Fail("chunk data longer than its size");
      chunk_step_ = ChunkStep::kSize;
    } else if (chunk_step_ == ChunkStep::kSize) {
      std::string_view size = line.substr(0, line.find(';'));
      if (!ParseNumber(TrimTrailingWhitespace(size), 16, remaining_)) return Fail("bad chunk size");
      if (remaining_ > max_body_bytes_) return TooLarge();
      chunk_step_ = remaining_ == 0 ? ChunkStep::kTrailers : ChunkStep::kData;
    } else if (line.empty()) {  // kTrailers: the empty line ends the response
      if (pos < buffer_.size()) trailing_bytes_ = true;
      buffer_.clear();
      return Finish();
    }
  }
  buffer_.erase(0, pos);
  return State::kNeedMore;
}

Http1ResponseParser::State Http1ResponseParser::FinishAtEof() {
  if (state_ != State::kNeedMore) return state_;
  keep_alive_ = false;
  if (in_body_ && framing_ == Framing::kUntilClose) return Finish();
  return Fail(started_ ? "connection closed before the response ended" : "connection closed without a response");
}

Http1ResponseParser::State Http1ResponseParser::Finish() {
  if (coding_ == Coding::kGzipOrDeflate && !raw_body_.empty()) {
    std::string why;
    if (!Inflate(raw_body_, max_body_bytes_, response_.body, why)) {
      return why.starts_with("decoded body larger") ? TooLarge() : Fail(why);
    }
  } else {
    response_.body.swap(raw_body_);
  }
  response_.transport_ok = true;
  state_ = State::kDone;
  return state_;
}

}  // namespace ief
