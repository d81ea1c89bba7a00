#include "ief/ief_client.h"

#include <chrono>
#include <functional>
#include <thread>

#include "util/log.h"
#include "util/text.h"

namespace ief {

namespace {

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string_view OperationName(ApiOperation op) {
  switch (op) {
    case ApiOperation::kShowJob: return "show_job";
    case ApiOperation::kListJobs: return "list_jobs";
    case ApiOperation::kIamToken: return "iam_token";
  }
  return "unknown";
}

bool IefClient::SendAuthenticated(const ProjectContext& project, const HttpRequest& base, ApiOperation op,
                                  HttpRequest& sent, HttpResponse& response, FetchResult& result) {
  sent = base;
  Status auth = project.authenticator->Authenticate(sent);
  if (!auth.ok()) {
    result.kind = FetchResult::Kind::kAuthError;
    result.message = auth.error();
    return false;
  }
  response = transport_.Send(sent);
  std::string code = response.transport_ok ? std::to_string(response.status) : "error";
  if (observer_ != nullptr) observer_->OnRequest(project.project_id, op, code, response.seconds);
  return true;
}

bool IefClient::Attempt(const ProjectContext& project, const HttpRequest& base, ApiOperation op,
                        HttpResponse& response, FetchResult& result) {
  if (project.rate_limiter && !project.rate_limiter->Acquire(options_.cancellation)) {
    result.kind = FetchResult::Kind::kTransportError;
    result.message = "cancelled";
    return false;
  }
  HttpRequest sent;
  if (!SendAuthenticated(project, base, op, sent, response, result)) return false;
  // A token that expired or was revoked early: renew it and try once more.
  if (response.transport_ok && response.status == 401 && project.authenticator->RenewAfterRejection(sent)) {
    return SendAuthenticated(project, base, op, sent, response, result);
  }
  return true;
}

bool IefClient::Wait(Duration delay) {
  if (options_.cancellation != nullptr) return options_.cancellation->SleepFor(delay);
  std::this_thread::sleep_for(delay);
  return true;
}

FetchResult IefClient::Get(const ProjectContext& project, ApiOperation op, const std::string& path,
                           HttpResponse& response) {
  FetchResult result;
  HttpRequest base;
  base.method = "GET";
  base.url = project.endpoint + path;
  base.headers.emplace_back("Content-Type", "application/json");
  if (!project.instance_id.empty()) base.headers.emplace_back("ief-instance-id", project.instance_id);

  const auto started = std::chrono::steady_clock::now();
  for (int retry = 1;; ++retry) {
    if (!Attempt(project, base, op, response, result)) return result;
    if (!IsRetryable(response) || retry > options_.retry.max_retries) break;
    Duration delay = RetryDelay(options_.retry, retry, response.retry_after, WallSeconds(), random_);
    if (std::chrono::steady_clock::now() - started + delay > options_.retry_budget) break;
    log::Debug("Retrying upstream request", {{"project_id", project.project_id},
                                             {"url", base.url},
                                             {"status", response.transport_ok ? std::to_string(response.status) : "error"},
                                             {"delay", FormatDuration(delay)}});
    if (!Wait(delay)) break;
  }
  result.http_status = response.status;
  result.request_id = response.request_id;
  result.retry_after = response.retry_after;

  if (!response.transport_ok) {
    result.kind = FetchResult::Kind::kTransportError;
    result.message = response.transport_error;
  } else if (response.status == 404) {
    result.kind = FetchResult::Kind::kNotFound;
    DescribeHttpError(response, result);
  } else if (response.status < 200 || response.status > 299) {
    result.kind = FetchResult::Kind::kHttpError;
    DescribeHttpError(response, result);
  } else {
    result.kind = FetchResult::Kind::kOk;
  }
  return result;
}

// "HTTP 401: APIGW.0301 Incorrect IAM authentication information" from the error body, when it has one.
void IefClient::DescribeHttpError(const HttpResponse& response, FetchResult& result) {
  result.message = "HTTP " + std::to_string(response.status);
  if (std::optional<ApiErrorBody> body = parser_.ParseApiError(response.body)) {
    // Error texts come from upstream: cut them so a hostile answer cannot flood the log.
    result.message += ": " + TruncateUtf8(body->error_code, 64) + " " + TruncateUtf8(body->error_msg, 256);
  }
}

// Marks `result` as a parse failure (counted) when `parsed` failed; true when the value is usable.
template <typename T>
bool IefClient::Accept(const ProjectContext& project, ApiOperation op, Result<T>& parsed, FetchResult& result) {
  if (parsed.ok()) return true;
  if (observer_ != nullptr) observer_->OnParseError(project.project_id, op);
  result.kind = FetchResult::Kind::kParseError;
  result.message = parsed.error();
  return false;
}

BodyFingerprint FingerprintOf(std::string_view body) {
  // Never 0, so that 0 can mean "no fingerprint yet".
  return (std::hash<std::string_view>{}(body) ^ (static_cast<uint64_t>(body.size()) << 40)) | 1;
}

FetchResult IefClient::ShowBatchJob(const ProjectContext& project, const std::string& job_id, BodyFingerprint known) {
  HttpResponse response;
  FetchResult result =
      Get(project, ApiOperation::kShowJob, "/v2/" + project.project_id + "/productmgr/jobs/" + job_id, response);
  if (!result.ok()) return result;
  result.body_fingerprint = FingerprintOf(response.body);
  if (result.body_fingerprint == known) {
    result.unchanged = true;
    return result;
  }
  Result<BatchJob> job = parser_.ParseShowBatchJob(response.body);
  if (Accept(project, ApiOperation::kShowJob, job, result)) result.job = std::move(job).value();
  return result;
}

FetchResult IefClient::ListBatchJobPage(const ProjectContext& project, long offset, long limit) {
  HttpResponse response;
  FetchResult result = Get(project, ApiOperation::kListJobs,
                           "/v2/" + project.project_id + "/productmgr/jobs?limit=" + std::to_string(limit) +
                               "&offset=" + std::to_string(offset) + "&sort=created_at:desc",
                           response);
  if (!result.ok()) return result;
  Result<BatchJobList> list = parser_.ParseListBatchJob(response.body);
  if (Accept(project, ApiOperation::kListJobs, list, result)) result.list = std::move(list).value();
  return result;
}

}  // namespace ief
