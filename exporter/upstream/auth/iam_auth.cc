#include "upstream/auth/iam_auth.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>

#include "util/log.h"
#include "util/text.h"
#include "util/time.h"

namespace ief {
namespace {

using std::chrono::seconds;

constexpr seconds kCredentialBackoffStart{60};
constexpr seconds kCredentialBackoffMax{30 * 60};
constexpr seconds kTransientBackoffStart{5};
constexpr seconds kTransientBackoffMax{5 * 60};
// IAM's times are believed within these bounds: a token is used for at least the shortest, whatever it states, so
// scheduled logins stay under 8 a minute whatever IAM answers (IAM's tokens live 24 hours).
constexpr seconds kShortestBelievedLifetime{10};
constexpr std::chrono::hours kLongestBelievedLifetime{7 * 24};  // and the arithmetic below cannot overflow
// The lifetime used when IAM's times cannot be read as one: an expiry already past by our clock without issued_at, or
// one before issued_at (a skewed clock, a careless IAM). The token may well be good for hours: renew it now and
// then, and at once when IEF rejects it.
constexpr std::chrono::minutes kUnknownLifetime{10};
// A token IEF rejects within this long of being issued was not rejected for its age, and another would not fare
// better: no renewal then. So rejections cost at most about one login a minute, whatever IAM and IEF answer (failed
// logins back off on their own).
constexpr seconds kMinLoginSpacing{60};
// IAM's clock this far from the exporter's is logged.
constexpr seconds kSkewWorthAWarning{60};

std::string FormatSeconds(std::chrono::nanoseconds duration) {
  return std::to_string(std::lround(Seconds(duration))) + "s";
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

// IAM answers 400, 401 or 403 when the user, password, domain or project is wrong: asking again will not help.
bool RejectsCredentials(long status) { return status == 400 || status == 401 || status == 403; }

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
                                             const Clock& clock)
    : config_(std::move(config)),
      project_id_(std::move(project_id)),
      transport_(std::move(transport)),
      observer_(observer),
      clock_(clock),
      password_("password_file", config_.password, config_.password_file) {}

Status IamTokenAuthenticator::Authenticate(HttpRequest& request) {
  Result<std::string> token = CurrentToken(request);
  if (!token.ok()) return token.error();
  request.headers.emplace_back("X-Auth-Token", *token);
  return Status::Ok();
}

Result<std::string> IamTokenAuthenticator::CurrentToken(const HttpRequest& for_request) {
  MutexLock lock(mutex_);
  while (true) {
    SteadyTime now = clock_.Steady();
    if (TokenUsable(now) && now < renew_at_) return token_;
    if (renewing_) {
      if (TokenUsable(now)) return token_;  // someone renews early; the current token is still good
      if (for_request.cancellation != nullptr && for_request.cancellation->IsCancelled()) {
        return Error(ErrorKind::kCancelled, "cancelled");
      }
      clock_.WaitUntil(lock, renewed_, now + std::chrono::milliseconds(100));  // then looks at the cancellation
      continue;
    }
    if (now < next_attempt_at_ && password_.Version() == failed_password_version_) {
      if (TokenUsable(now)) return token_;
      return Error(ErrorKind::kAuthUnavailable, "IAM token unavailable (" + last_error_ + "); next attempt in " +
                                                    FormatSeconds(next_attempt_at_ - now));
    }
    renewing_ = true;
    lock.Unlock();
    Result<std::string> password = password_.Get();
    std::string password_version = password_.Version();
    Result<IamToken> fresh =
        password.ok() ? RequestToken(*password, for_request) : Result<IamToken>(password.error());
    lock.Lock();
    renewing_ = false;
    now = clock_.Steady();
    if (fresh.ok()) {
      RecordSuccess(*fresh, now);
    } else if (fresh.error().kind != ErrorKind::kCancelled) {  // a shutdown is not IAM's fault
      failed_password_version_ = password_version;
      RecordFailure(fresh.error(), now);
    }
    renewed_.notify_all();
    if (TokenUsable(now)) return token_;
    return Error(ErrorKind::kAuthUnavailable, "IAM token unavailable (" + fresh.error().message + ")");
  }
}

Result<IamToken> IamTokenAuthenticator::RequestToken(const std::string& password, const HttpRequest& for_request) {
  HttpRequest request;
  request.method = HttpMethod::kPost;
  request.url = config_.endpoint + "/v3/auth/tokens?nocatalog=true";
  request.headers.emplace_back("Content-Type", "application/json;charset=utf8");
  request.body = IamPasswordRequestBody(config_, password, project_id_);
  request.timeout = for_request.timeout;
  request.cancellation = for_request.cancellation;
  SteadyTime started = clock_.Steady();
  Result<HttpResponse> response = transport_->Send(request);
  if (observer_ != nullptr) {
    std::string code = response.ok() ? std::to_string(response->status) : "error";
    observer_->OnRequest(project_id_, ApiOperation::kIamToken, code, Seconds(clock_.Steady() - started));
  }
  if (!response.ok()) return response.error();
  return ReadTokenAnswer(*response);
}

Result<IamToken> IamTokenAuthenticator::ReadTokenAnswer(const HttpResponse& response) {
  if (response.status != 201 && response.status != 200) {
    ErrorKind kind = RejectsCredentials(response.status) ? ErrorKind::kAuthRejected : ErrorKind::kHttpStatus;
    return Error(kind, IamErrorText(response.status, response.body));
  }
  IamToken token;
  token.token = response.subject_token;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view expires, issued;
  if (parser.parse(response.body).get(root) != simdjson::SUCCESS ||
      root["token"]["expires_at"].get_string().get(expires) != simdjson::SUCCESS || token.token.empty() ||
      !IsValidHeaderValue(token.token)) {
    if (observer_ != nullptr) observer_->OnParseError(project_id_, ApiOperation::kIamToken);
    return Error(ErrorKind::kParse, "IAM answer without a usable X-Subject-Token or token.expires_at");
  }
  std::optional<WallTime> expires_at = ParseIso8601Utc(expires);
  if (!expires_at) return Error(ErrorKind::kParse, "IAM answer with an unreadable token.expires_at");
  token.expires_at = *expires_at;
  if (root["token"]["issued_at"].get_string().get(issued) == simdjson::SUCCESS) {
    token.issued_at = ParseIso8601Utc(issued);
  }
  return token;
}

IamTokenTimes ReadTokenTimes(const IamToken& token, WallTime received_at) {
  IamTokenTimes times;
  // The lifetime as IAM states it, applied to our own clock, so that a skewed clock on either side does not matter;
  // without a usable issued_at, what is left of it by our clock.
  const bool issued_usable = token.issued_at && token.expires_at > *token.issued_at;
  times.stated_lifetime = issued_usable ? token.expires_at - *token.issued_at : token.expires_at - received_at;
  times.lifetime = times.stated_lifetime <= std::chrono::nanoseconds(0)
                       ? std::chrono::nanoseconds(kUnknownLifetime)
                       : std::clamp<std::chrono::nanoseconds>(times.stated_lifetime, kShortestBelievedLifetime,
                                                              kLongestBelievedLifetime);
  // IAM's clock minus ours: from issued_at (a request's latency makes it a little negative); without one, an expiry
  // already past says IAM is at least that far behind.
  times.clock_skew = token.issued_at ? *token.issued_at - received_at
                                     : std::min<std::chrono::nanoseconds>(std::chrono::nanoseconds(0),
                                                                          token.expires_at - received_at);
  times.doubtful = times.lifetime != times.stated_lifetime || times.clock_skew > kSkewWorthAWarning ||
                   times.clock_skew < -kSkewWorthAWarning;
  return times;
}

void IamTokenAuthenticator::RecordSuccess(const IamToken& token, SteadyTime now) {
  const IamTokenTimes times = ReadTokenTimes(token, clock_.Wall());
  token_ = token.token;
  obtained_at_ = now;
  expires_at_ = now + times.lifetime;
  renew_at_ = now + times.lifetime * 3 / 4;
  expiry_margin_ = std::min<std::chrono::nanoseconds>(seconds(30), times.lifetime / 20);
  if (failures_ > 0) log::Info("IAM token obtained again", {{"project_id", project_id_}});
  failures_ = 0;
  next_attempt_at_ = {};
  last_error_.clear();
  if (observer_ != nullptr) {
    observer_->OnTokenExpiry(project_id_, token.expires_at);
    observer_->OnTokenClockSkew(project_id_, Seconds(times.clock_skew));
  }
  if (times.doubtful && !times_warned_) {
    log::Warn("IAM token times do not fit the exporter's clock; the token is renewed by its own clock",
              {{"project_id", project_id_},
               {"clock_skew_seconds", Seconds(times.clock_skew)},
               {"stated_lifetime_seconds", Seconds(times.stated_lifetime)},
               {"used_lifetime_seconds", Seconds(times.lifetime)}});
  }
  times_warned_ = times.doubtful;  // warned once while it lasts
  log::Debug("IAM token renewed", {{"project_id", project_id_}, {"lifetime_seconds", Seconds(times.lifetime)}});
}

void IamTokenAuthenticator::RecordFailure(const Error& error, SteadyTime now) {
  ++failures_;
  const bool rejected = error.kind == ErrorKind::kAuthRejected;
  seconds start = rejected ? kCredentialBackoffStart : kTransientBackoffStart;
  seconds max = rejected ? kCredentialBackoffMax : kTransientBackoffMax;
  seconds delay = std::min(max, start * (1 << std::min(failures_ - 1, 10)));
  next_attempt_at_ = now + delay;
  last_error_ = error.message;
  log::Error(rejected ? "IAM rejected the credentials" : "IAM token request failed",
             {{"project_id", project_id_},
              {"user", config_.user},
              {"kind", ErrorKindName(error.kind)},
              {"err", error.message},
              {"next_attempt_in", FormatSeconds(delay)}});
}

bool IamTokenAuthenticator::RenewAfterRejection(const HttpRequest& rejected) {
  std::string_view used = rejected.Header("X-Auth-Token");
  MutexLock lock(mutex_);
  SteadyTime now = clock_.Steady();
  if (used != token_) return TokenUsable(now);         // already renewed by another request
  if (now - obtained_at_ < kMinLoginSpacing) return false;  // a brand-new token rejected: not expiry
  token_.clear();  // forces the next Authenticate to renew (single-flight)
  renew_at_ = {};
  return true;
}

}  // namespace ief
