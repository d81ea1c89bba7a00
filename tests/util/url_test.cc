#include "util/url.h"

#include <optional>

#include <catch2/catch.hpp>

TEST_CASE("an http(s) URL splits into scheme, authority, host, port, path and query") {
  auto url = ief::ParseHttpUrl("https://ief.cn-north-4.myhuaweicloud.com:8443/v2/p/productmgr/jobs?limit=2&offset=0");
  REQUIRE(url.ok());
  CHECK(url->scheme == "https");
  CHECK(url->authority == "ief.cn-north-4.myhuaweicloud.com:8443");
  CHECK(url->host == "ief.cn-north-4.myhuaweicloud.com");
  CHECK(url->port == 8443);
  CHECK(url->path == "/v2/p/productmgr/jobs");
  CHECK(url->query == "limit=2&offset=0");

  auto bare = ief::ParseHttpUrl("http://127.0.0.1");
  REQUIRE(bare.ok());
  CHECK(bare->authority == "127.0.0.1");
  CHECK(bare->port == 0);
  CHECK(bare->path.empty());
  CHECK(bare->query.empty());

  auto query_only = ief::ParseHttpUrl("http://h?x=1");
  REQUIRE(query_only.ok());
  CHECK(query_only->path.empty());
  CHECK(query_only->query == "x=1");
}

TEST_CASE("URLs the exporter must never send are refused, each with its reason") {
  struct Case {
    const char* url;
    const char* reason;
  };
  for (const Case& c : {Case{"ftp://h/", "must start with http:// or https://"},
                        Case{"h.example.com", "must start with http:// or https://"},
                        Case{"https://", "has no host"},
                        Case{"https://:443", "has no host"},
                        Case{"https://user:pw@h", "must not carry credentials"},
                        Case{"https://h:0", "has an invalid port"},
                        Case{"https://h:65536", "has an invalid port"},
                        Case{"https://h:12ab", "has an invalid port"},
                        Case{"https://h/#frag", "must not have a fragment"},
                        Case{"https://h/a b", "contains invalid characters"},
                        Case{"https://h/\r\nX-Injected: 1", "contains invalid characters"}}) {
    INFO(c.url);
    auto url = ief::ParseHttpUrl(c.url);
    REQUIRE_FALSE(url.ok());
    CHECK(url.error().kind == ief::ErrorKind::kInvalidArgument);
    CHECK(url.error().message == c.reason);
  }
}

TEST_CASE("URI encoding keeps unreserved characters and decoding undoes it") {
  CHECK(ief::UriEncode("a-b_c.d~e f/g") == "a-b_c.d~e%20f%2Fg");
  CHECK(ief::UriDecode("a%20b+c", ief::PlusSign::kSpace) == "a b c");
  CHECK(ief::UriDecode("a%20b+c", ief::PlusSign::kLiteral) == "a b+c");
  CHECK(ief::UriDecode("100%", ief::PlusSign::kLiteral) == "100%");  // an invalid escape stays as it is
}

TEST_CASE("HOST[:PORT] splits IPv4, bracketed IPv6 and names, and refuses what no host looks like") {
  struct Case {
    const char* text;
    const char* host;
    std::optional<int> port;
  };
  for (const Case& c : {Case{"h.example:8443", "h.example", 8443}, Case{"10.0.0.1", "10.0.0.1", std::nullopt},
                        Case{"[2001:db8::1]:0", "[2001:db8::1]", 0}, Case{"[::1]", "[::1]", std::nullopt},
                        Case{":10038", "", 10038}, Case{"", "", std::nullopt}}) {
    INFO(c.text);
    auto split = ief::SplitHostPort(c.text);
    REQUIRE(split.ok());
    CHECK(split->host == c.host);
    CHECK(split->port == c.port);
    CHECK(split->ToString() == c.text);
  }
  CHECK(ief::SplitHostPort("[::1]:1")->IsIpv6());
  for (const char* bad : {"::1", "2001:db8::1:80", "[::1", "[]:1", "[::1]x", "h:65536", "h:-1", "h: 1", "a/b:1",
                          "a,b:1", "a@b:1"}) {
    INFO(bad);
    CHECK_FALSE(ief::SplitHostPort(bad).ok());
  }
  // The URL parser uses it: an unbracketed IPv6 host is refused there too.
  CHECK(ief::ParseHttpUrl("http://::1/").error().message == "has an IPv6 address without brackets");
  CHECK(ief::ParseHttpUrl("http://[::1]:8080/x")->host == "[::1]");
}
