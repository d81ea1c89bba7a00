// Huawei Cloud AK/SK request signing (SDK-HMAC-SHA256), as the official SDKs and the API signing guide do it:
//   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//   StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//   Authorization    = SDK-HMAC-SHA256 Access=AK, SignedHeaders=h1;h2, Signature=hex(hmac_sha256(SK, StringToSign))
// The verifier side (the simulator) uses the same canonicalisation, checked against the guide's known answer.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "ief/http.h"

namespace ief {

inline constexpr const char* kSdkSigningAlgorithm = "SDK-HMAC-SHA256";

struct UrlParts {
  std::string host;   // authority as sent in Host: host[:port]
  std::string path;   // raw path, "/" when empty
  std::string query;  // raw query, without '?'
};
UrlParts SplitUrl(std::string_view url);

// %XX-encodes everything but A-Za-z0-9-_.~ (upper-case hex).
std::string UriEncode(std::string_view text);
// Decodes %XX (and '+' as space when `plus_is_space`). Invalid escapes are kept as they are.
std::string UriDecode(std::string_view text, bool plus_is_space);

std::string CanonicalUri(std::string_view raw_path);
std::string CanonicalQuery(std::string_view raw_query);

// The canonical request for `request` over the named headers (lower case, any order). The value of "host" comes
// from a Host header if present, else from the URL.
std::string CanonicalRequest(const HttpRequest& request, std::vector<std::string> signed_headers);

std::string Sha256Hex(std::string_view data);
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// "20191115T033655Z" for a unix time.
std::string SdkDate(std::time_t unix_seconds);

// Headers signed by default: those of this set the request carries.
std::vector<std::string> DefaultSignedHeaders(const HttpRequest& request);

// Adds Host (when absent), X-Sdk-Date and Authorization to `request`, signing DefaultSignedHeaders.
void SignRequest(HttpRequest& request, std::string_view access_key, std::string_view secret_key,
                 std::time_t unix_seconds);

// The Authorization value for a request that already carries X-Sdk-Date.
std::string AuthorizationHeader(const HttpRequest& request, const std::vector<std::string>& signed_headers,
                                std::string_view access_key, std::string_view secret_key);

}  // namespace ief
