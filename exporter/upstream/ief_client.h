// The IEF batch-job API client: builds requests, waits for the endpoint's rate limiter, authenticates, sends them
// through an HttpTransport, retries what is worth retrying, classifies the answer and parses it. It reports every
// request to an ApiObserver (metrics live elsewhere) and every 429 to the rate limiter.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "model/job.h"
#include "model/job_parser.h"
#include "upstream/auth/auth.h"
#include "upstream/http/api_observer.h"
#include "upstream/http/http.h"
#include "upstream/rate_limiter.h"
#include "upstream/retry.h"

namespace ief {

// A project as the client needs it: where, who, and how to authenticate.
struct ProjectContext {
  std::string project_id;
  std::string endpoint;
  std::string instance_id;
  std::shared_ptr<RequestAuthenticator> authenticator;
  std::shared_ptr<EndpointRateLimiter> rate_limiter;  // shared by all projects on the endpoint; may be null
};

// Why a fetch failed. kind: kNotFound (404), kHttpStatus (any other non-2xx, 3xx included: redirects are never
// followed), kTransport, kParse (a 2xx answer we could not use), kAuthUnavailable (nothing was sent),
// kInvalidArgument (a job id we refuse to put in a URL; nothing was sent), kCancelled.
struct FetchError {
  ErrorKind kind = ErrorKind::kTransport;
  long http_status = 0;     // when an HTTP answer came
  std::string request_id;   // X-Request-Id of the answer, for logs
  std::string message;      // what went wrong, safe to log (never holds a secret)

  // Whether the API itself answered sensibly (ief_up): a 404 for a deleted job still means the API is up.
  bool api_reachable() const { return kind == ErrorKind::kNotFound; }
};

template <typename T>
using Fetched = Result<T, FetchError>;

struct IefClientOptions {
  RetryPolicy retry;
  // Retries stop when the next wait would end later than this after the first attempt (the poll interval).
  Duration retry_budget = std::chrono::seconds(30);
  Duration request_timeout = std::chrono::seconds(10);
  const Cancellation* cancellation = nullptr;  // interrupts rate-limit waits, retry waits and transfers
  const Clock* clock = &SystemClock();
};

// Not thread-safe (it owns a parser and uses one transport): one per worker thread.
class IefClient {
 public:
  IefClient(HttpTransport& transport, ApiObserver* observer, IefClientOptions options = {});

  // ShowBatchJob. An answer about another job than `job_id` is refused (kParse).
  Fetched<BatchJob> ShowBatchJob(const ProjectContext& project, std::string_view job_id, RequestPriority priority);
  // One page of ListBatchJob, newest first.
  Fetched<BatchJobList> ListBatchJobPage(const ProjectContext& project, long offset, long limit);

 private:
  // Sends an authenticated GET with retries; a 2xx answer comes back as the response, anything else as an error.
  Fetched<HttpResponse> Get(const ProjectContext& project, ApiOperation op, const std::string& path,
                            RequestPriority priority);
  // One attempt: rate limit, authenticate, send, and renew-and-resend once on 401.
  Result<HttpResponse> Attempt(const ProjectContext& project, const HttpRequest& base, ApiOperation op,
                               RequestPriority priority);
  Result<HttpResponse> SendAuthenticated(const ProjectContext& project, const HttpRequest& base, ApiOperation op,
                                         HttpRequest& sent);
  bool Wait(Duration delay);
  FetchError Classify(const Result<HttpResponse>& response);
  FetchError ParseFailure(const ProjectContext& project, ApiOperation op, const HttpResponse& response,
                          std::string message);

  HttpTransport& transport_;
  ApiObserver* observer_;
  IefClientOptions options_;
  std::mt19937_64 random_;
  JobParser parser_;
};

}  // namespace ief
