// Huawei Cloud AK/SK request signing (SDK-HMAC-SHA256), as the official SDKs and the API signing guide do it:
//   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//   StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//   Authorization    = SDK-HMAC-SHA256 Access=AK, SignedHeaders=h1;h2, Signature=hex(hmac_sha256(SK, StringToSign))
// The verifier side (the simulator) uses the same canonicalisation, checked against the guide's known answer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "upstream/http/http.h"
#include "util/clock.h"
#include "util/result.h"

namespace ief {

inline constexpr const char* kSdkSigningAlgorithm = "SDK-HMAC-SHA256";

std::string CanonicalUri(std::string_view raw_path);
std::string CanonicalQuery(std::string_view raw_query);

// The canonical request for `request` over the named headers (lower case, any order). The value of "host" comes
// from a Host header if present, else from the URL, which is split by the same parser the config uses (kInvalid
// argument when it does not parse).
Result<std::string> CanonicalRequest(const HttpRequest& request, std::vector<std::string> signed_headers);

// "20191115T033655Z".
std::string SdkDate(WallTime time);

// Headers signed by default: those of this set the request carries.
std::vector<std::string> DefaultSignedHeaders(const HttpRequest& request);

// Adds Host (when absent), X-Sdk-Date and Authorization to `request`, signing DefaultSignedHeaders.
Status SignRequest(HttpRequest& request, std::string_view access_key, std::string_view secret_key, WallTime now);

// The Authorization value for a request that already carries X-Sdk-Date.
Result<std::string> AuthorizationHeader(const HttpRequest& request, const std::vector<std::string>& signed_headers,
                                        std::string_view access_key, std::string_view secret_key);

}  // namespace ief
