// libFuzzer target: bytes from an upstream server, as the builtin HTTP/1.1 client receives them. The first byte
// picks how the rest is split into reads (the network splits anywhere); any input must end in a response, an
// error, or a wish for more bytes, within the body limit.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ief/http1_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kMaxBody = 64 * 1024;
  static ief::Http1ResponseParser parser(kMaxBody);  // reused like a connection's parser, so stale state would show
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  parser.Reset();
  using State = ief::Http1ResponseParser::State;
  State state = State::kNeedMore;
  for (size_t at = 0; at < bytes.size() && state == State::kNeedMore; at += step) {
    state = parser.Feed(bytes.substr(at, step));
  }
  if (state == State::kNeedMore) state = parser.FinishAtEof();
  if (state == State::kDone && parser.response().body.size() > kMaxBody) __builtin_trap();
  if (state == State::kError && parser.error().empty()) __builtin_trap();
  if (state == State::kNeedMore) __builtin_trap();  // FinishAtEof always decides
  return 0;
}
