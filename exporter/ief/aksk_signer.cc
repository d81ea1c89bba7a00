#include "ief/aksk_signer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "util/text.h"

namespace ief {
namespace {

std::string Hex(const unsigned char* bytes, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// All values of a header (case-insensitive), trimmed.
std::vector<std::string> HeaderValues(const HttpRequest& request, std::string_view lower_name) {
  std::vector<std::string> values;
  for (const auto& [name, value] : request.headers) {
    if (Lower(name) != lower_name) continue;
    std::string_view v = value;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    values.emplace_back(TrimTrailingWhitespace(v));
  }
  return values;
}

}  // namespace

UrlParts SplitUrl(std::string_view url) {
  UrlParts parts;
  size_t scheme_end = url.find("://");
  std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
  size_t fragment = rest.find('#');
  if (fragment != std::string_view::npos) rest = rest.substr(0, fragment);
  size_t path_start = rest.find_first_of("/?");
  parts.host = std::string(rest.substr(0, path_start));
  if (path_start == std::string_view::npos) {
    parts.path = "/";
    return parts;
  }
  std::string_view path_and_query = rest.substr(path_start);
  size_t question = path_and_query.find('?');
  parts.path = std::string(path_and_query.substr(0, question));
  if (parts.path.empty()) parts.path = "/";
  if (question != std::string_view::npos) parts.query = std::string(path_and_query.substr(question + 1));
  return parts;
}

std::string UriEncode(std::string_view text) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
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

std::string CanonicalUri(std::string_view raw_path) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t slash = raw_path.find('/', start);
    std::string_view segment = raw_path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    out += UriEncode(UriDecode(segment, false));
    if (slash == std::string_view::npos) break;
    out += '/';
    start = slash + 1;
  }
  if (out.empty() || out.back() != '/') out += '/';
  return out;
}

std::string CanonicalQuery(std::string_view raw_query) {
  std::map<std::string, std::vector<std::string>> params;
  size_t start = 0;
  while (start < raw_query.size()) {
    size_t amp = raw_query.find('&', start);
    std::string_view pair = raw_query.substr(start, amp == std::string_view::npos ? amp : amp - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string name = UriDecode(pair.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : UriDecode(pair.substr(eq + 1), true);
      params[UriEncode(name)].push_back(UriEncode(value));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  std::string out;
  for (auto& [name, values] : params) {
    std::sort(values.begin(), values.end());
    for (const std::string& value : values) {
      if (!out.empty()) out += '&';
      out += name + "=" + value;
    }
  }
  return out;
}

std::string CanonicalRequest(const HttpRequest& request, std::vector<std::string> signed_headers) {
  for (std::string& name : signed_headers) name = Lower(name);
  std::sort(signed_headers.begin(), signed_headers.end());
  UrlParts url = SplitUrl(request.url);
  std::string headers;
  for (const std::string& name : signed_headers) {
    std::vector<std::string> values = HeaderValues(request, name);
    if (values.empty() && name == "host") values.push_back(url.host);
    std::sort(values.begin(), values.end());
    for (const std::string& value : values) headers += name + ":" + value + "\n";
  }
  std::string joined;
  for (const std::string& name : signed_headers) joined += (joined.empty() ? "" : ";") + name;
  return request.method + "\n" + CanonicalUri(url.path) + "\n" + CanonicalQuery(url.query) + "\n" + headers + "\n" +
         joined + "\n" + Sha256Hex(request.body);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof digest);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest, &length);
  return Hex(digest, length);
}

std::string SdkDate(std::time_t unix_seconds) {
  std::tm utc{};
  gmtime_r(&unix_seconds, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &utc);
  return buf;
}

std::vector<std::string> DefaultSignedHeaders(const HttpRequest& request) {
  std::vector<std::string> names;
  for (const char* name : {"content-type", "host", "x-project-id", "x-sdk-date", "x-security-token"}) {
    if (std::string_view(name) == "host" || !HeaderValues(request, name).empty()) names.emplace_back(name);
  }
  return names;
}

std::string AuthorizationHeader(const HttpRequest& request, const std::vector<std::string>& signed_headers,
                                std::string_view access_key, std::string_view secret_key) {
  std::vector<std::string> names = signed_headers;
  for (std::string& name : names) name = Lower(name);
  std::sort(names.begin(), names.end());
  std::vector<std::string> dates = HeaderValues(request, "x-sdk-date");
  std::string string_to_sign = std::string(kSdkSigningAlgorithm) + "\n" + (dates.empty() ? "" : dates.front()) +
                               "\n" + Sha256Hex(CanonicalRequest(request, names));
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ";") + name;
  return std::string(kSdkSigningAlgorithm) + " Access=" + std::string(access_key) + ", SignedHeaders=" + joined +
         ", Signature=" + HmacSha256Hex(secret_key, string_to_sign);
}

void SignRequest(HttpRequest& request, std::string_view access_key, std::string_view secret_key,
                 std::time_t unix_seconds) {
  if (HeaderValues(request, "host").empty()) request.headers.emplace_back("Host", SplitUrl(request.url).host);
  request.headers.emplace_back("X-Sdk-Date", SdkDate(unix_seconds));
  std::vector<std::string> names = DefaultSignedHeaders(request);
  request.headers.emplace_back("Authorization", AuthorizationHeader(request, names, access_key, secret_key));
}

}  // namespace ief
