#include "ief/ief_client.h"

#include "util/text.h"

namespace ief {

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

FetchResult IefClient::Get(const ProjectContext& project, ApiOperation op, const std::string& path,
                           HttpResponse& response) {
  FetchResult result;
  HttpRequest base;
  base.method = "GET";
  base.url = project.endpoint + path;
  base.headers.emplace_back("Content-Type", "application/json");
  if (!project.instance_id.empty()) base.headers.emplace_back("ief-instance-id", project.instance_id);

  HttpRequest sent;
  if (!SendAuthenticated(project, base, op, sent, response, result)) return result;
  // A token that expired or was revoked early: renew it and try once more.
  if (response.transport_ok && response.status == 401 && project.authenticator->RenewAfterRejection(sent)) {
    if (!SendAuthenticated(project, base, op, sent, response, result)) return result;
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

FetchResult IefClient::ShowBatchJob(const ProjectContext& project, const std::string& job_id) {
  HttpResponse response;
  FetchResult result =
      Get(project, ApiOperation::kShowJob, "/v2/" + project.project_id + "/productmgr/jobs/" + job_id, response);
  if (!result.ok()) return result;
  Result<BatchJob> job = parser_.ParseShowBatchJob(response.body);
  if (!job.ok()) {
    if (observer_ != nullptr) observer_->OnParseError(project.project_id, ApiOperation::kShowJob);
    result.kind = FetchResult::Kind::kParseError;
    result.message = job.error();
    return result;
  }
  result.job = std::move(job).value();
  return result;
}

}  // namespace ief
