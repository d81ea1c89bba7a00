#include "upstream/ief_client.h"

#include "util/cancellation.h"
#include "util/log.h"
#include "util/text.h"

namespace ief {

IefClient::IefClient(HttpTransport& transport, ApiObserver* observer, IefClientOptions options)
    : transport_(transport), observer_(observer), options_(std::move(options)), random_(std::random_device{}()) {}

Result<HttpResponse> IefClient::SendAuthenticated(const ProjectContext& project, const HttpRequest& base,
                                                  ApiOperation op, HttpRequest& sent) {
  sent = base;
  Status auth = project.authenticator->Authenticate(sent);
  if (!auth.ok()) return auth.error();
  SteadyTime started = options_.clock->Steady();
  Result<HttpResponse> response = transport_.Send(sent);
  if (observer_ != nullptr && (response.ok() || response.error().kind != ErrorKind::kCancelled)) {
    std::string code = response.ok() ? std::to_string(response->status) : "error";
    observer_->OnRequest(project.project_id, op, code, Seconds(options_.clock->Steady() - started));
  }
  return response;
}

Result<HttpResponse> IefClient::Attempt(const ProjectContext& project, const HttpRequest& base, ApiOperation op,
                                        RequestPriority priority) {
  if (project.rate_limiter && !project.rate_limiter->Acquire(priority, options_.cancellation)) {
    return Error(ErrorKind::kCancelled, "cancelled");
  }
  SteadyTime sent_at = options_.clock->Steady();
  HttpRequest sent;
  Result<HttpResponse> response = SendAuthenticated(project, base, op, sent);
  // A token that expired or was revoked early: renew it and try once more.
  if (response.ok() && response->status == 401 && project.authenticator->RenewAfterRejection(sent)) {
    response = SendAuthenticated(project, base, op, sent);
  }
  if (response.ok() && project.rate_limiter) {
    if (response->status == 429) {
      project.rate_limiter->OnThrottled(sent_at, ParseRetryAfter(response->retry_after, options_.clock->Wall()));
    } else {
      project.rate_limiter->OnAccepted(sent_at);
    }
  }
  return response;
}

bool IefClient::Wait(Duration delay) {
  static const Cancellation kNeverCancelled;
  const Cancellation& cancellation = options_.cancellation != nullptr ? *options_.cancellation : kNeverCancelled;
  return cancellation.SleepFor(*options_.clock, delay);
}

Fetched<HttpResponse> IefClient::Get(const ProjectContext& project, ApiOperation op, const std::string& path,
                                     RequestPriority priority) {
  HttpRequest base;
  base.method = HttpMethod::kGet;
  base.url = project.endpoint + path;
  base.timeout = options_.request_timeout;
  base.cancellation = options_.cancellation;
  base.headers.emplace_back("Content-Type", "application/json");
  if (!project.instance_id.empty()) base.headers.emplace_back("ief-instance-id", project.instance_id);

  const SteadyTime started = options_.clock->Steady();
  Result<HttpResponse> response = Attempt(project, base, op, priority);
  for (int retry = 1; IsRetryable(response) && retry <= options_.retry.max_retries; ++retry) {
    std::optional<Duration> asked = response.ok() ? ParseRetryAfter(response->retry_after, options_.clock->Wall())
                                                  : std::nullopt;
    Duration delay = RetryDelay(options_.retry, retry, asked, random_);
    if (options_.clock->Steady() - started + delay > options_.retry_budget) break;
    log::Debug("Retrying upstream request", {{"project_id", project.project_id},
                                             {"url", base.url},
                                             {"status", response.ok() ? std::to_string(response->status) : "error"},
                                             {"delay", FormatDuration(delay)}});
    if (!Wait(delay)) return FetchError{.kind = ErrorKind::kCancelled, .message = "cancelled"};
    response = Attempt(project, base, op, priority);
  }
  if (response.ok() && response->status >= 200 && response->status <= 299) return std::move(response).value();
  return Classify(response);
}

// Turns a failed exchange or a non-2xx answer into a FetchError; the message carries the API's error code and
// text ("HTTP 401: APIGW.0301 Incorrect IAM authentication information") when the body has them.
FetchError IefClient::Classify(const Result<HttpResponse>& response) {
  if (!response.ok()) return FetchError{.kind = response.error().kind, .message = response.error().message};
  FetchError error{.kind = response->status == 404 ? ErrorKind::kNotFound : ErrorKind::kHttpStatus,
                   .http_status = response->status,
                   .request_id = response->request_id,
                   .message = "HTTP " + std::to_string(response->status)};
  if (std::optional<ApiErrorBody> body = parser_.ParseApiError(response->body)) {
    // Error texts come from upstream: cut them so a hostile answer cannot flood the log.
    error.message += ": " + TruncateUtf8(body->error_code, 64) + " " + TruncateUtf8(body->error_msg, 256);
  }
  return error;
}

FetchError IefClient::ParseFailure(const ProjectContext& project, ApiOperation op, const HttpResponse& response,
                                   std::string message) {
  if (observer_ != nullptr) observer_->OnParseError(project.project_id, op);
  return FetchError{.kind = ErrorKind::kParse,
                    .http_status = response.status,
                    .request_id = response.request_id,
                    .message = std::move(message)};
}

Fetched<BatchJob> IefClient::ShowBatchJob(const ProjectContext& project, std::string_view job_id,
                                          RequestPriority priority) {
  if (!IsSafePathSegment(job_id)) {
    return FetchError{.kind = ErrorKind::kInvalidArgument, .message = "not a valid job id: " + QuoteForLog(job_id)};
  }
  Fetched<HttpResponse> response =
      Get(project, ApiOperation::kShowJob, "/v2/" + project.project_id + "/productmgr/jobs/" + std::string(job_id),
          priority);
  if (!response.ok()) return response.error();
  Result<BatchJob> job = parser_.ParseShowBatchJob(response->body);
  if (!job.ok()) return ParseFailure(project, ApiOperation::kShowJob, *response, job.error().message);
  if (job->job_id != job_id) {
    return ParseFailure(project, ApiOperation::kShowJob, *response,
                        "the answer describes job " + QuoteForLog(TruncateUtf8(job->job_id, kMaxIdLength)) +
                            ", not the one asked for");
  }
  return std::move(job).value();
}

Fetched<BatchJobList> IefClient::ListBatchJobPage(const ProjectContext& project, long offset, long limit) {
  Fetched<HttpResponse> response = Get(project, ApiOperation::kListJobs,
                                       "/v2/" + project.project_id + "/productmgr/jobs?limit=" +
                                           std::to_string(limit) + "&offset=" + std::to_string(offset) +
                                           "&sort=created_at:desc",
                                       RequestPriority::kList);
  if (!response.ok()) return response.error();
  Result<BatchJobList> list = parser_.ParseListBatchJob(response->body);
  if (!list.ok()) return ParseFailure(project, ApiOperation::kListJobs, *response, list.error().message);
  return std::move(list).value();
}

}  // namespace ief
