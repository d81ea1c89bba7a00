// The one URL parser: the config loader checks endpoints with it, the HTTP client's signer splits the URL it
// signs with it, so what is signed is exactly what is sent. Its HOST[:PORT] splitter is also the one the web
// server's listen addresses go through.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace ief {

struct Url {
  std::string scheme;     // "http" or "https", lower case
  std::string authority;  // host[:port] exactly as written: the Host header
  std::string host;       // without the port
  int port = 0;           // 0 when the URL names none
  std::string path;       // raw (still percent-encoded); empty when the URL has none
  std::string query;      // raw, without '?'; empty when none
};

// HOST[:PORT]: a host name, an IPv4 address or an IPv6 address in brackets (kept as written, brackets included),
// then an optional port of 0 to 65535. The host may be empty (":10038"). Refused, with the reason: a bad port, an
// unbracketed IPv6 address, text after the closing bracket, and any character no host name or address has (so a
// host cannot smuggle a second item into a comma-separated list).
struct HostPort {
  std::string host;
  std::optional<int> port;
  bool IsIpv6() const { return host.starts_with('['); }
  // "host:port", "[::1]:port", ":port"; the host alone without a port.
  std::string ToString() const;
};
Result<HostPort> SplitHostPort(std::string_view authority);

// Parses an absolute http(s) URL. Refused: other schemes, no host, user info, a fragment, a bad port, and any
// byte outside printable ASCII (so nothing can inject a header line or hide a second host).
Result<Url> ParseHttpUrl(std::string_view text);

// %XX-encodes everything but A-Za-z0-9-_.~ (upper-case hex).
std::string UriEncode(std::string_view text);
// What a '+' means: itself (in a path), or a space (in a query string).
enum class PlusSign { kLiteral, kSpace };
// Decodes %XX (and '+' as `plus` says). Invalid escapes are kept as they are.
std::string UriDecode(std::string_view text, PlusSign plus);

}  // namespace ief
