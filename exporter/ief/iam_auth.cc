#include "ief/iam_auth.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "ief/ief_client.h"
#include "util/log.h"
#include "util/text.h"
#include "util/time.h"

namespace ief {
namespace {

constexpr double kCredentialBackoffStart = 60;
constexpr double kCredentialBackoffMax = 30 * 60;
constexpr double kTransientBackoffStart = 5;
constexpr double kTransientBackoffMax = 5 * 60;
// A token IEF rejects within this many seconds of being issued will not be fixed by another renewal.
constexpr double kFreshTokenSeconds = 10;

std::string FormatSeconds(double seconds) {
  return std::to_string(static_cast<long>(std::lround(seconds))) + "s";
}

// The error description of an IAM answer: {"error":{"message":..}} (Keystone style) or {"error_msg":..}.
std::string IamErrorText(long status, const std::string& body) {
  std::string text = "HTTP " + std::to_string(status);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return text;
  std::string_view message;
  if (root["error"]["message"].get_string().get(message) == simdjson::SUCCESS ||
      root["error_msg"].get_string().get(message) == simdjson::SUCCESS) {
    text += ": " + TruncateUtf8(message, 200);
  }
  return text;
}

}  // namespace

std::string IamPasswordRequestBody(const IamAuthConfig& config, const std::string& password,
                                   const std::string& project_id) {
  std::string scope = config.project_name.empty() ? "{\"id\":\"" + JsonEscape(project_id) + "\"}"
                                                  : "{\"name\":\"" + JsonEscape(config.project_name) + "\"}";
  return "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"" +
         JsonEscape(config.user) + "\",\"password\":\"" + JsonEscape(password) + "\",\"domain\":{\"name\":\"" +
         JsonEscape(config.domain) + "\"}}}},\"scope\":{\"project\":" + scope + "}}}";
}

IamTokenAuthenticator::IamTokenAuthenticator(IamAuthConfig config, std::string project_id,
                                             std::unique_ptr<HttpTransport> transport, ApiObserver* observer,
                                             Clock clock)
    : config_(std::move(config)),
      project_id_(std::move(project_id)),
      transport_(std::move(transport)),
      observer_(observer),
      clock_(std::move(clock)),
      password_("password_file", config_.password, config_.password_file) {}

Status IamTokenAuthenticator::Authenticate(HttpRequest& request) {
  Result<std::string> token = CurrentToken();
  if (!token.ok()) return Error{token.error()};
  request.headers.emplace_back("X-Auth-Token", *token);
  return Status::Ok();
}

Result<std::string> IamTokenAuthenticator::CurrentToken() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    double now = clock_();
    if (TokenUsable(now) && now < renew_at_) return token_;
    if (renewing_) {
      if (TokenUsable(now)) return token_;  // someone renews early; the current token is still good
      renewed_.wait_for(lock, std::chrono::seconds(1));
      continue;
    }
    if (now < next_attempt_at_ && password_.Version() == failed_password_version_) {
      if (TokenUsable(now)) return token_;
      return Error{"IAM token unavailable (" + last_error_ + "); next attempt in " +
                   FormatSeconds(next_attempt_at_ - now)};
    }
    renewing_ = true;
    lock.unlock();
    Result<std::string> password = password_.Get();
    std::string password_version = password_.Version();
    Result<IamToken> fresh = password.ok() ? RequestToken(*password) : Result<IamToken>(Error{password.error()});
    lock.lock();
    renewing_ = false;
    now = clock_();
    if (fresh.ok()) {
      RecordSuccess(std::move(fresh).value(), now);
    } else {
      bool rejected = fresh.error().starts_with("HTTP 400") || fresh.error().starts_with("HTTP 401") ||
                      fresh.error().starts_with("HTTP 403");
      failed_password_version_ = password_version;
      RecordFailure(fresh.error(), rejected, now);
    }
    renewed_.notify_all();
    if (TokenUsable(now)) return token_;
    return Error{"IAM token unavailable (" + last_error_ + ")"};
  }
}

Result<IamToken> IamTokenAuthenticator::RequestToken(const std::string& password) {
  HttpRequest request;
  request.method = "POST";
  request.url = config_.endpoint + "/v3/auth/tokens?nocatalog=true";
  request.headers.emplace_back("Content-Type", "application/json;charset=utf8");
  request.body = IamPasswordRequestBody(config_, password, project_id_);
  HttpResponse response = transport_->Send(request);
  std::string code = response.transport_ok ? std::to_string(response.status) : "error";
  if (observer_ != nullptr) observer_->OnRequest(project_id_, ApiOperation::kIamToken, code, response.seconds);
  if (!response.transport_ok) return Error{response.transport_error};
  if (response.status != 201 && response.status != 200) return Error{IamErrorText(response.status, response.body)};

  IamToken token;
  token.token = response.subject_token;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view expires, issued;
  if (parser.parse(response.body).get(root) != simdjson::SUCCESS ||
      root["token"]["expires_at"].get_string().get(expires) != simdjson::SUCCESS || token.token.empty()) {
    if (observer_ != nullptr) observer_->OnParseError(project_id_, ApiOperation::kIamToken);
    return Error{"IAM answer without X-Subject-Token or token.expires_at"};
  }
  std::optional<double> expires_at = ParseIso8601Utc(expires);
  if (!expires_at) return Error{"IAM answer with an unreadable token.expires_at"};
  token.expires_at = *expires_at;
  if (root["token"]["issued_at"].get_string().get(issued) == simdjson::SUCCESS) {
    token.issued_at = ParseIso8601Utc(issued).value_or(0);
  }
  return token;
}

void IamTokenAuthenticator::RecordSuccess(IamToken token, double now) {
  // Lifetime as IAM states it, applied to our own clock, so a skewed local clock does not matter.
  double lifetime = token.issued_at > 0 ? token.expires_at - token.issued_at : token.expires_at - now;
  lifetime = std::max(lifetime, 1.0);
  token_ = std::move(token.token);
  obtained_at_ = now;
  expires_at_ = now + lifetime;
  renew_at_ = now + lifetime * 0.75;
  expiry_margin_ = std::min(30.0, lifetime * 0.05);
  if (failures_ > 0) log::Info("IAM token obtained again", {{"project_id", project_id_}});
  failures_ = 0;
  next_attempt_at_ = 0;
  last_error_.clear();
  if (observer_ != nullptr) observer_->OnTokenExpiry(project_id_, token.expires_at);
  log::Debug("IAM token renewed", {{"project_id", project_id_}, {"lifetime_seconds", lifetime}});
}

void IamTokenAuthenticator::RecordFailure(const std::string& error, bool credentials_rejected, double now) {
  ++failures_;
  double start = credentials_rejected ? kCredentialBackoffStart : kTransientBackoffStart;
  double max = credentials_rejected ? kCredentialBackoffMax : kTransientBackoffMax;
  double delay = std::min(max, start * std::pow(2.0, std::min(failures_ - 1, 16)));
  next_attempt_at_ = now + delay;
  last_error_ = error;
  log::Error(credentials_rejected ? "IAM rejected the credentials" : "IAM token request failed",
             {{"project_id", project_id_},
              {"user", config_.user},
              {"err", error},
              {"next_attempt_in", FormatSeconds(delay)}});
}

bool IamTokenAuthenticator::RenewAfterRejection(const HttpRequest& rejected) {
  std::string used;
  for (const auto& [name, value] : rejected.headers) {
    if (name == "X-Auth-Token") used = value;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (used != token_) return TokenUsable(clock_());  // already renewed by another request
  if (clock_() - obtained_at_ < kFreshTokenSeconds) return false;  // a brand-new token rejected: not expiry
  token_.clear();  // forces the next Authenticate to renew (single-flight)
  renew_at_ = 0;
  return true;
}

}  // namespace ief
