#include "util/text.h"

#include <catch2/catch.hpp>

TEST_CASE("TruncateUtf8 counts characters, never splits one") {
  CHECK(ief::TruncateUtf8("abcdef", 3) == "abc");
  CHECK(ief::TruncateUtf8("abc", 10) == "abc");
  CHECK(ief::TruncateUtf8("", 0) == "");
  // "节点离线" is four 3-byte characters.
  CHECK(ief::TruncateUtf8("节点离线", 2) == "节点");
  CHECK(ief::TruncateUtf8("a节b", 2) == "a节");
  CHECK(ief::TruncateUtf8("héllo", 2) == "hé");
}

TEST_CASE("TrimTrailingWhitespace drops newline endings only at the end") {
  CHECK(ief::TrimTrailingWhitespace("token\n") == "token");
  CHECK(ief::TrimTrailingWhitespace("token\r\n \t") == "token");
  CHECK(ief::TrimTrailingWhitespace(" to ken") == " to ken");
}

TEST_CASE("QuoteForLog quotes only when logfmt needs it") {
  CHECK(ief::QuoteForLog("plain") == "plain");
  CHECK(ief::QuoteForLog("two words") == "\"two words\"");
  CHECK(ief::QuoteForLog("") == "\"\"");
  CHECK(ief::QuoteForLog("a=b") == "\"a=b\"");
  CHECK(ief::QuoteForLog("say \"hi\"\n") == "\"say \\\"hi\\\"\\n\"");
}

TEST_CASE("IsSafePathSegment admits ids and nothing that changes a URL") {
  CHECK(ief::IsSafePathSegment("66273c66-f72e-4607-8769-3663d255fb83"));
  CHECK(ief::IsSafePathSegment("job_1.v2"));
  for (const char* bad : {"", ".", "..", "a/b", "a?b", "a b", "a%2F", "a#b"}) {
    INFO(bad);
    CHECK_FALSE(ief::IsSafePathSegment(bad));
  }
}

TEST_CASE("TrimWhitespace trims both ends, EqualsIgnoringCase ignores ASCII case only") {
  CHECK(ief::TrimWhitespace(" \t value with space \r\n") == "value with space");
  CHECK(ief::TrimWhitespace(" \t\r\n").empty());
  CHECK(ief::EqualsIgnoringCase("X-Request-Id", "x-request-id"));
  CHECK_FALSE(ief::EqualsIgnoringCase("X-Request-Id", "x-request-ids"));
  CHECK_FALSE(ief::EqualsIgnoringCase("close", "clos"));
}
