// The IEF batch-job API client: builds requests, authenticates them, sends them through an HttpTransport,
// classifies the answer and parses it. It reports every request to an ApiObserver (metrics live elsewhere).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "config/config.h"
#include "ief/auth.h"
#include "ief/http.h"
#include "ief/job.h"
#include "ief/job_parser.h"
#include "ief/rate_limiter.h"
#include "ief/retry.h"

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
  // An IAM project obtained a token that expires at `unix_seconds`.
  virtual void OnTokenExpiry(const std::string& project_id, double unix_seconds) {
    (void)project_id;
    (void)unix_seconds;
  }
};

// A project as the client needs it: where, who, and how to authenticate.
struct ProjectContext {
  std::string project_id;
  std::string endpoint;
  std::string instance_id;
  std::shared_ptr<RequestAuthenticator> authenticator;
  std::shared_ptr<RateLimiter> rate_limiter;  // shared by all projects on the endpoint; may be null
};

struct IefClientOptions {
  RetryPolicy retry;
  // Retries stop when the next wait would end later than this after the first attempt (the poll interval).
  Duration retry_budget = std::chrono::seconds(30);
  Cancellation* cancellation = nullptr;  // interrupts rate-limit and retry waits
};

// Identifies a response body (64-bit hash and length): equal fingerprints mean equal bodies, barring a collision
// of odds 2^-64 between two answers for the same job.
using BodyFingerprint = uint64_t;
BodyFingerprint FingerprintOf(std::string_view body);

struct FetchResult {
  enum class Kind {
    kOk,              // parsed job in `job`
    kNotFound,        // 404: the job does not exist (any more)
    kHttpError,       // another non-2xx answer
    kTransportError,  // no HTTP answer: connect failure, timeout, oversized body...
    kParseError,      // a 2xx answer we could not parse
    kAuthError,       // credentials could not be produced locally; nothing was sent
  };
  Kind kind = Kind::kTransportError;
  BatchJob job;        // ShowBatchJob
  BatchJobList list;   // ListBatchJob
  long http_status = 0;
  std::string request_id;   // X-Request-Id of the answer, for logs
  std::string retry_after;  // Retry-After of the answer, verbatim
  std::string message;      // what went wrong, safe to log (never holds a secret)
  // ShowBatchJob: fingerprint of the 2xx body. When it equals the fingerprint the caller already had, the body is
  // not parsed: `unchanged` is true and `job` stays empty (the caller's copy is current).
  BodyFingerprint body_fingerprint = 0;
  bool unchanged = false;

  bool ok() const { return kind == Kind::kOk; }
  // A ShowBatchJob answer that brought a (possibly) new version of the job, parsed into `job`.
  bool has_new_job() const { return ok() && !unchanged; }
  // Whether the API itself answered sensibly (for ief_up): a 404 for a deleted job still means the API is up.
  bool api_reachable() const { return kind == Kind::kOk || kind == Kind::kNotFound; }
};

// Not thread-safe (it owns a parser and uses one transport): one per worker thread.
class IefClient {
 public:
  IefClient(HttpTransport& transport, ApiObserver* observer, IefClientOptions options = {})
      : transport_(transport), observer_(observer), options_(std::move(options)), random_(std::random_device{}()) {}

  // `known` is the fingerprint of the answer the caller last parsed for this job (0: none): an identical answer
  // comes back `unchanged`, unparsed. Jobs polled flat out mostly answer the same bytes again.
  FetchResult ShowBatchJob(const ProjectContext& project, const std::string& job_id, BodyFingerprint known = 0);
  // One page of ListBatchJob, newest first.
  FetchResult ListBatchJobPage(const ProjectContext& project, long offset, long limit);

 private:
  // Sends an authenticated GET and classifies the answer; on a 2xx answer, the body is in `response`.
  FetchResult Get(const ProjectContext& project, ApiOperation op, const std::string& path, HttpResponse& response);
  // Authenticates a copy of `base` and sends it. False (and `result` filled) when no credentials could be made.
  bool SendAuthenticated(const ProjectContext& project, const HttpRequest& base, ApiOperation op,
                         HttpRequest& sent, HttpResponse& response, FetchResult& result);
  // One attempt: rate limit, authenticate, send, and renew-and-resend once on 401.
  bool Attempt(const ProjectContext& project, const HttpRequest& base, ApiOperation op, HttpResponse& response,
               FetchResult& result);
  bool Wait(Duration delay);
  template <typename T>
  bool Accept(const ProjectContext& project, ApiOperation op, Result<T>& parsed, FetchResult& result);
  void DescribeHttpError(const HttpResponse& response, FetchResult& result);

  HttpTransport& transport_;
  ApiObserver* observer_;
  IefClientOptions options_;
  std::mt19937_64 random_;
  JobParser parser_;
};

}  // namespace ief
