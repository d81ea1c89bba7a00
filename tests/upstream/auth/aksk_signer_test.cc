#include "upstream/auth/aksk_signer.h"

#include <catch2/catch.hpp>

#include "util/crypto.h"

namespace {

// The signing guide's known-answer request.
ief::HttpRequest GuideRequest() {
  ief::HttpRequest request;
  request.method = ief::HttpMethod::kGet;
  request.url = "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker="
                "13551d6b-755d-4757-b956-536f674975c0";
  request.headers = {{"Content-Type", "application/json"},
                     {"Host", "service.region.example.com"},
                     {"X-Sdk-Date", "20191115T033655Z"}};
  return request;
}

}  // namespace

TEST_CASE("the signing guide's known answer") {
  ief::HttpRequest request = GuideRequest();
  std::vector<std::string> headers = {"content-type", "host", "x-sdk-date"};
  CHECK(ief::crypto::Sha256Hex(ief::CanonicalRequest(request, headers).value()) ==
        "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a");
  CHECK(ief::AuthorizationHeader(request, headers, "QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc")
            .value() ==
        "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe");
}

TEST_CASE("SignRequest adds the date and signs the headers present") {
  // 1573789015 is the guide's 2019-11-15T03:36:55Z.
  ief::HttpRequest at_guide_time;
  at_guide_time.url = GuideRequest().url;
  at_guide_time.headers = {{"Content-Type", "application/json"}};
  REQUIRE(ief::SignRequest(at_guide_time, "QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
                           ief::FromUnixSeconds(1573789015))
              .ok());
  REQUIRE(at_guide_time.headers.size() == 4);
  CHECK(at_guide_time.headers[1] == std::pair<std::string, std::string>{"Host", "service.region.example.com"});
  CHECK(at_guide_time.headers[2] == std::pair<std::string, std::string>{"X-Sdk-Date", "20191115T033655Z"});
  CHECK(at_guide_time.headers[3].second ==
        "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe");
}

TEST_CASE("SignRequest signs x-project-id and x-security-token when present") {
  ief::HttpRequest request;
  request.url = "https://ief.example.com/v2/p/productmgr/jobs/j";
  request.headers = {{"Content-Type", "application/json"}, {"X-Project-Id", "p"}, {"X-Security-Token", "st"},
                     {"ief-instance-id", "i"}};
  REQUIRE(ief::SignRequest(request, "AK", "SK", ief::FromUnixSeconds(1700000000)).ok());
  CHECK_THAT(request.headers.back().second,
             Catch::Contains("SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token,"));
}

TEST_CASE("canonical URI: each segment escaped, always a trailing slash") {
  CHECK(ief::CanonicalUri("/v2/p/productmgr/jobs") == "/v2/p/productmgr/jobs/");
  CHECK(ief::CanonicalUri("/v2/p/jobs/") == "/v2/p/jobs/");
  CHECK(ief::CanonicalUri("") == "/");
  CHECK(ief::CanonicalUri("/") == "/");
  CHECK(ief::CanonicalUri("/a b/c%2Fd/é") == "/a%20b/c%2Fd/%C3%A9/");
  CHECK(ief::CanonicalUri("/keep-_.~") == "/keep-_.~/");
}

TEST_CASE("canonical query: decoded, re-encoded, sorted, empty values kept") {
  CHECK(ief::CanonicalQuery("") == "");
  CHECK(ief::CanonicalQuery("offset=10&limit=5") == "limit=5&offset=10");
  CHECK(ief::CanonicalQuery("b=2&a=&c") == "a=&b=2&c=");
  CHECK(ief::CanonicalQuery("q=a+b&r=a%20b") == "q=a%20b&r=a%20b");
  CHECK(ief::CanonicalQuery("sort=created_at:desc") == "sort=created_at%3Adesc");
  CHECK(ief::CanonicalQuery("a=2&a=1") == "a=1&a=2");
  CHECK(ief::CanonicalQuery("x=%E4%B8%AD") == "x=%E4%B8%AD");
}

TEST_CASE("a URL the config parser refuses is never signed") {
  ief::HttpRequest request;
  request.url = "https://user@ief.example.com/v2";
  ief::Status signed_request = ief::SignRequest(request, "AK", "SK", ief::FromUnixSeconds(1700000000));
  REQUIRE_FALSE(signed_request.ok());
  CHECK(signed_request.error().kind == ief::ErrorKind::kInvalidArgument);
  CHECK(request.Header("Authorization").empty());
}
