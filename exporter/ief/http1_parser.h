// An incremental HTTP/1.1 response parser for Http1Transport: bytes go in as they arrive, a response comes out.
// It knows the three ways a body can end (Content-Length, chunked, connection close), skips 1xx answers, decodes
// gzip and deflate, and enforces limits on header and body size. It never trusts a length it was given: every
// number is range-checked before use. Kept free of sockets so unit tests and the fuzzer drive it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ief/http.h"

namespace ief {

class Http1ResponseParser {
 public:
  enum class State {
    kNeedMore,  // feed more bytes (or call FinishAtEof when the peer closed)
    kDone,      // response() is complete
    kError,     // error() says why; the connection must be dropped
  };

  // `max_body_bytes` caps the body after decoding (a gzip bomb stops there).
  explicit Http1ResponseParser(size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

  // Starts over for the next response on the same connection (buffers keep their capacity).
  void Reset();

  // Consumes `bytes`. Bytes after the end of the response make the connection unusable (see reusable()).
  State Feed(std::string_view bytes);
  // The peer closed the connection: ends a body delimited by the close, anything else is a truncation.
  State FinishAtEof();

  // Whether any byte of a response arrived (a keep-alive connection closed before that may be retried).
  bool started() const { return started_; }
  // Whether the connection can carry another request after this response.
  bool reusable() const { return state_ == State::kDone && keep_alive_ && !trailing_bytes_; }
  const std::string& error() const { return error_; }

  // Status, body (decoded) and the headers HttpResponse keeps. Valid once Feed returned kDone.
  HttpResponse& response() { return response_; }

 private:
  enum class Framing { kLength, kChunked, kUntilClose, kNone };
  enum class ChunkStep { kSize, kData, kDataEnd, kTrailers };
  enum class Coding { kIdentity, kGzipOrDeflate };

  void ForgetHead();
  State Fail(std::string message);
  State TooLarge();
  State ParseHead();
  bool ParseStatusLine(std::string_view line);
  bool ParseHeader(std::string_view line);
  State ParseBody();
  State ParseChunks();
  State Finish();
  bool AppendBody(std::string_view data);

  size_t max_body_bytes_;
  State state_ = State::kNeedMore;
  std::string error_;
  std::string buffer_;     // received bytes not consumed yet
  size_t scanned_ = 0;     // of buffer_, already searched for the end of the head
  bool started_ = false;
  bool in_body_ = false;
  bool keep_alive_ = true;
  bool trailing_bytes_ = false;
  Framing framing_ = Framing::kUntilClose;
  Coding coding_ = Coding::kIdentity;
  uint64_t remaining_ = 0;  // kLength: body bytes still to come; kChunked: of the current chunk
  ChunkStep chunk_step_ = ChunkStep::kSize;
  bool has_length_ = false;
  bool chunked_ = false;
  std::string raw_body_;    // the body as sent (still encoded)
  HttpResponse response_;
};

}  // namespace ief
