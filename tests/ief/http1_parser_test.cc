#include "ief/http1_parser.h"

#include <catch2/catch.hpp>

#include "util/gzip.h"

namespace {

using State = ief::Http1ResponseParser::State;

// Feeds `bytes` in pieces of `step` bytes (the network splits answers anywhere) and returns the last state.
State FeedInSteps(ief::Http1ResponseParser& parser, std::string_view bytes, size_t step) {
  State state = State::kNeedMore;
  for (size_t at = 0; at < bytes.size() && state == State::kNeedMore; at += step) {
    state = parser.Feed(bytes.substr(at, step));
  }
  return state;
}

const char* kChunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Request-Id: r-7\r\n\r\n"
    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";

}  // namespace

TEST_CASE("a Content-Length answer is read whole, wherever the network splits it") {
  const std::string answer =
      "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 11\r\nRetry-After: 3\r\nX-Request-Id: abc\r\n"
      "X-Subject-Token: secret\r\n\r\n{\"a\":\"bcd\"}";
  for (size_t step : {1, 2, 7, 1000}) {
    ief::Http1ResponseParser parser(1000);
    REQUIRE(FeedInSteps(parser, answer, step) == State::kDone);
    CHECK(parser.response().status == 429);
    CHECK(parser.response().body == "{\"a\":\"bcd\"}");
    CHECK(parser.response().retry_after == "3");
    CHECK(parser.response().request_id == "abc");
    CHECK(parser.response().subject_token == "secret");
    CHECK(parser.response().transport_ok);
    CHECK(parser.reusable());
  }
}

TEST_CASE("a chunked answer is reassembled and its trailers skipped") {
  for (size_t step : {1, 3, 1000}) {
    ief::Http1ResponseParser parser(1000);
    REQUIRE(FeedInSteps(parser, kChunked, step) == State::kDone);
    CHECK(parser.response().body == "hello, world");
    CHECK(parser.response().request_id == "r-7");
    CHECK(parser.reusable());
  }
}

TEST_CASE("interim 1xx answers are skipped") {
  ief::Http1ResponseParser parser(1000);
  REQUIRE(parser.Feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") == State::kDone);
  CHECK(parser.response().status == 200);
  CHECK(parser.response().body == "ok");
}

TEST_CASE("a gzip answer is decoded, and a gzip bomb stops at the body limit") {
  std::string json = "{\"job_id\":\"" + std::string(500, 'j') + "\"}";
  std::string gz = ief::GzipCompress(json);
  ief::Http1ResponseParser parser(1000);
  REQUIRE(parser.Feed("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(gz.size()) +
                      "\r\n\r\n" + gz) == State::kDone);
  CHECK(parser.response().body == json);

  std::string bomb = ief::GzipCompress(std::string(100000, 'x'));  // about 100 bytes that expand to 100 kB
  ief::Http1ResponseParser small(1000);
  CHECK(small.Feed("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(bomb.size()) +
                   "\r\n\r\n" + bomb) == State::kError);
  CHECK(small.error() == "response larger than 1000 bytes");
}

TEST_CASE("the connection is kept only when the answer allows it") {
  SECTION("Connection: close") {
    ief::Http1ResponseParser parser(100);
    REQUIRE(parser.Feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n") == State::kDone);
    CHECK_FALSE(parser.reusable());
  }
  SECTION("HTTP/1.0 without keep-alive") {
    ief::Http1ResponseParser parser(100);
    REQUIRE(parser.Feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") == State::kDone);
    CHECK_FALSE(parser.reusable());
  }
  SECTION("HTTP/1.0 with keep-alive") {
    ief::Http1ResponseParser parser(100);
    REQUIRE(parser.Feed("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n") == State::kDone);
    CHECK(parser.reusable());
  }
  SECTION("bytes after the answer") {
    ief::Http1ResponseParser parser(100);
    REQUIRE(parser.Feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA") == State::kDone);
    CHECK(parser.response().body == "ok");
    CHECK_FALSE(parser.reusable());
  }
  SECTION("a body that ends with the connection") {
    ief::Http1ResponseParser parser(100);
    REQUIRE(parser.Feed("HTTP/1.1 200 OK\r\n\r\npart one, ") == State::kNeedMore);
    REQUIRE(parser.Feed("part two") == State::kNeedMore);
    REQUIRE(parser.FinishAtEof() == State::kDone);
    CHECK(parser.response().body == "part one, part two");
    CHECK_FALSE(parser.reusable());
  }
}

TEST_CASE("Reset readies the parser for the next answer on the connection") {
  ief::Http1ResponseParser parser(100);
  REQUIRE(parser.Feed("HTTP/1.1 500 Oops\r\nX-Request-Id: first\r\nContent-Length: 1\r\n\r\nx") == State::kDone);
  parser.Reset();
  CHECK_FALSE(parser.started());
  REQUIRE(parser.Feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") == State::kDone);
  CHECK(parser.response().status == 200);
  CHECK(parser.response().request_id.empty());
  CHECK(parser.response().body == "ok");
}

TEST_CASE("malformed, truncated and oversized answers are errors, never crashes") {
  struct Case {
    const char* name;
    std::string bytes;
    bool at_eof;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", false, "malformed HTTP response: bad status line"},
      {"HTTP/2 preface", "HTTP/2 200\r\n\r\n", false, "malformed HTTP response: bad status line"},
      {"status out of range", "HTTP/1.1 999 What\r\n\r\n", false, "malformed HTTP response: bad status code"},
      {"letters in the status", "HTTP/1.1 2x0 OK\r\n\r\n", false, "malformed HTTP response: bad status code"},
      {"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false,
       "malformed HTTP response: bad Content-Length"},
      {"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false,
       "malformed HTTP response: bad Content-Length"},
      {"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false,
       "malformed HTTP response: bad Content-Length"},
      {"length over the limit", "HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", false,
       "response larger than 100 bytes"},
      {"chunk over the limit", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n", false,
       "response larger than 100 bytes"},
      {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
       "malformed HTTP response: bad chunk size"},
      {"chunk longer than announced", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", false,
       "malformed HTTP response: chunk data longer than its size"},
      {"unknown transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false,
       "malformed HTTP response: unsupported Transfer-Encoding"},
      {"unknown content coding", "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 0\r\n\r\n", false,
       "malformed HTTP response: unsupported Content-Encoding"},
      {"corrupt gzip", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd", false,
       "malformed HTTP response: corrupt compressed body"},
      {"folded header", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n", false,
       "malformed HTTP response: bad header line"},
      {"protocol switch", "HTTP/1.1 101 Switching\r\n\r\n", false,
       "malformed HTTP response: unexpected protocol switch"},
      {"closed in the head", "HTTP/1.1 200 OK\r\nContent-", true,
       "malformed HTTP response: connection closed before the response ended"},
      {"closed in the body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", true,
       "malformed HTTP response: connection closed before the response ended"},
      {"closed without a byte", "", true, "malformed HTTP response: connection closed without a response"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    ief::Http1ResponseParser parser(100);
    State state = parser.Feed(c.bytes);
    if (c.at_eof) state = parser.FinishAtEof();
    CHECK(state == State::kError);
    CHECK(parser.error() == c.error);
    CHECK_FALSE(parser.reusable());
  }
}

TEST_CASE("a head that never ends is refused at 64 KiB") {
  ief::Http1ResponseParser parser(100);
  State state = parser.Feed("HTTP/1.1 200 OK\r\n");
  std::string filler = "X-Filler: " + std::string(1000, 'f') + "\r\n";
  for (int i = 0; i < 100 && state == State::kNeedMore; ++i) state = parser.Feed(filler);
  CHECK(state == State::kError);
  CHECK(parser.error() == "malformed HTTP response: headers larger than 65536 bytes");
}
