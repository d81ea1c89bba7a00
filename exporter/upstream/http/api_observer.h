// What the upstream side reports about its own traffic (metrics live elsewhere, behind this interface).
#pragma once

#include <string>
#include <string_view>

#include "util/clock.h"

namespace ief {

enum class ApiOperation { kShowJob, kListJobs, kIamToken };
std::string_view OperationName(ApiOperation op);  // "show_job", "list_jobs", "iam_token"

// Receives one call per upstream request. Implementations must be thread-safe.
class ApiObserver {
 public:
  virtual ~ApiObserver() = default;
  // `code` is the HTTP status as text, or "error" when no HTTP answer came.
  virtual void OnRequest(const std::string& project_id, ApiOperation op, const std::string& code,
                         double seconds) = 0;
  virtual void OnParseError(const std::string& project_id, ApiOperation op) = 0;
  // An IAM project obtained a token that expires at `expires_at`.
  virtual void OnTokenExpiry(const std::string& project_id, WallTime expires_at) {
    (void)project_id;
    (void)expires_at;
  }
  // IAM's clock minus the exporter's, as the latest token of an IAM project tells (iam_auth.h, ReadTokenTimes).
  virtual void OnTokenClockSkew(const std::string& project_id, double seconds) {
    (void)project_id;
    (void)seconds;
  }
};

}  // namespace ief
