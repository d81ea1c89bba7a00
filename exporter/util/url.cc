#include "util/url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ief {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Error Invalid(std::string message) { return Error(ErrorKind::kInvalidArgument, std::move(message)); }

// Characters of host names and IP addresses (and of an IPv6 zone such as %eth0).
bool IsHostCharacter(char c, bool in_brackets) {
  if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') return true;
  return in_brackets && (c == ':' || c == '%');
}

Result<int> ParsePort(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0 || value > 65535) {
    return Invalid("has an invalid port");
  }
  return value;
}

// Checks the host and port of a URL's authority.
Status SplitAuthority(Url& url) {
  if (url.authority.find('@') != std::string::npos) return Invalid("must not carry credentials");
  Result<HostPort> split = SplitHostPort(url.authority);
  if (!split.ok()) return split.error();
  if (split->host.empty()) return Invalid("has no host");
  if (split->port == 0) return Invalid("has an invalid port");
  url.host = split->host;
  url.port = split->port.value_or(0);
  return Status::Ok();
}

}  // namespace

std::string HostPort::ToString() const { return port ? host + ":" + std::to_string(*port) : host; }

Result<HostPort> SplitHostPort(std::string_view authority) {
  HostPort split;
  std::string_view rest = authority;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return Invalid("has an unterminated or empty IPv6 address");
    split.host = std::string(authority.substr(0, close + 1));
    rest = authority.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return Invalid("has text after the IPv6 address");
  } else {
    size_t colon = authority.rfind(':');
    split.host = std::string(authority.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    bool ipv6_like = split.host.find(':') != std::string::npos &&
                     std::all_of(split.host.begin(), split.host.end(),
                                 [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; });
    if (ipv6_like) return Invalid("has an IPv6 address without brackets");
  }
  const bool bracketed = split.IsIpv6();
  std::string_view inner = bracketed ? std::string_view(split.host).substr(1, split.host.size() - 2) : split.host;
  for (char c : inner) {
    if (!IsHostCharacter(c, bracketed)) return Invalid("has an invalid host");
  }
  if (rest.starts_with(':')) {
    Result<int> port = ParsePort(rest.substr(1));
    if (!port.ok()) return port.error();
    split.port = *port;
  }
  return split;
}

Result<Url> ParseHttpUrl(std::string_view text) {
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7f) return Invalid("contains invalid characters");
  }
  Url url;
  std::string_view rest = text;
  if (rest.starts_with("https://")) {
    url.scheme = "https";
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    url.scheme = "http";
    rest.remove_prefix(7);
  } else {
    return Invalid("must start with http:// or https://");
  }
  if (rest.find('#') != std::string_view::npos) return Invalid("must not have a fragment");
  size_t authority_end = rest.find_first_of("/?");
  url.authority = std::string(rest.substr(0, authority_end));
  if (Status authority = SplitAuthority(url); !authority.ok()) return authority.error();
  if (authority_end == std::string_view::npos) return url;
  std::string_view path_and_query = rest.substr(authority_end);
  size_t question = path_and_query.find('?');
  url.path = std::string(path_and_query.substr(0, question));
  if (question != std::string_view::npos) url.query = std::string(path_and_query.substr(question + 1));
  return url;
}

std::string UriEncode(std::string_view text) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

std::string UriDecode(std::string_view text, PlusSign plus) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else if (plus == PlusSign::kSpace && text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace ief
