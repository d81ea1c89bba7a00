#include "upstream/auth/aksk_signer.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "util/crypto.h"
#include "util/text.h"
#include "util/time.h"
#include "util/url.h"

namespace ief {
namespace {

// All values of a header (case-insensitive), trimmed.
std::vector<std::string> HeaderValues(const HttpRequest& request, std::string_view lower_name) {
  std::vector<std::string> values;
  for (const auto& [name, value] : request.headers) {
    if (!EqualsIgnoringCase(name, lower_name)) continue;
    values.emplace_back(TrimWhitespace(value));
  }
  return values;
}

}  // namespace

std::string CanonicalUri(std::string_view raw_path) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t slash = raw_path.find('/', start);
    std::string_view segment = raw_path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    out += UriEncode(UriDecode(segment, PlusSign::kLiteral));
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
      std::string name = UriDecode(pair.substr(0, eq), PlusSign::kSpace);
      std::string value = eq == std::string_view::npos ? "" : UriDecode(pair.substr(eq + 1), PlusSign::kSpace);
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

Result<std::string> CanonicalRequest(const HttpRequest& request, std::vector<std::string> signed_headers) {
  for (std::string& name : signed_headers) name = ToLowerAscii(name);
  std::sort(signed_headers.begin(), signed_headers.end());
  Result<Url> url = ParseHttpUrl(request.url);
  if (!url.ok()) return url.error();
  std::string headers;
  for (const std::string& name : signed_headers) {
    std::vector<std::string> values = HeaderValues(request, name);
    if (values.empty() && name == "host") values.push_back(url->authority);
    std::sort(values.begin(), values.end());
    for (const std::string& value : values) headers += name + ":" + value + "\n";
  }
  std::string joined;
  for (const std::string& name : signed_headers) joined += (joined.empty() ? "" : ";") + name;
  return std::string(MethodName(request.method)) + "\n" + CanonicalUri(url->path) + "\n" +
         CanonicalQuery(url->query) + "\n" + headers + "\n" + joined + "\n" + crypto::Sha256Hex(request.body);
}

std::string SdkDate(WallTime time) { return FormatUtc(time, "%Y%m%dT%H%M%SZ"); }

std::vector<std::string> DefaultSignedHeaders(const HttpRequest& request) {
  std::vector<std::string> names;
  for (const char* name : {"content-type", "host", "x-project-id", "x-sdk-date", "x-security-token"}) {
    if (std::string_view(name) == "host" || !HeaderValues(request, name).empty()) names.emplace_back(name);
  }
  return names;
}

Result<std::string> AuthorizationHeader(const HttpRequest& request, const std::vector<std::string>& signed_headers,
                                        std::string_view access_key, std::string_view secret_key) {
  std::vector<std::string> names = signed_headers;
  for (std::string& name : names) name = ToLowerAscii(name);
  std::sort(names.begin(), names.end());
  Result<std::string> canonical = CanonicalRequest(request, names);
  if (!canonical.ok()) return canonical.error();
  std::vector<std::string> dates = HeaderValues(request, "x-sdk-date");
  std::string string_to_sign = std::string(kSdkSigningAlgorithm) + "\n" + (dates.empty() ? "" : dates.front()) +
                               "\n" + crypto::Sha256Hex(*canonical);
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ";") + name;
  return std::string(kSdkSigningAlgorithm) + " Access=" + std::string(access_key) + ", SignedHeaders=" + joined +
         ", Signature=" + crypto::HmacSha256Hex(secret_key, string_to_sign);
}

Status SignRequest(HttpRequest& request, std::string_view access_key, std::string_view secret_key, WallTime now) {
  Result<Url> url = ParseHttpUrl(request.url);
  if (!url.ok()) return url.error();
  if (HeaderValues(request, "host").empty()) request.headers.emplace_back("Host", url->authority);
  request.headers.emplace_back("X-Sdk-Date", SdkDate(now));
  Result<std::string> authorization =
      AuthorizationHeader(request, DefaultSignedHeaders(request), access_key, secret_key);
  if (!authorization.ok()) return authorization.error();
  request.headers.emplace_back("Authorization", std::move(authorization).value());
  return Status::Ok();
}

}  // namespace ief
