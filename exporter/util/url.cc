#include "util/url.h"

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

// Splits "host[:port]" and checks the port.
Status SplitAuthority(Url& url) {
  std::string_view authority = url.authority;
  if (authority.find('@') != std::string_view::npos) return Invalid("must not carry credentials");
  size_t colon = authority.rfind(':');
  bool bracketed = authority.starts_with('[');
  if (colon != std::string_view::npos && (!bracketed || authority.find(']') < colon)) {
    std::string_view port = authority.substr(colon + 1);
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return Invalid("has an invalid port");
    }
    url.port = value;
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return Invalid("has no host");
  url.host = std::string(authority);
  return Status::Ok();
}

}  // namespace

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

std::string UriDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace ief
