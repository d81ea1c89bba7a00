// auth.iam: an IAM user token (password login), obtained with POST {iam}/v3/auth/tokens and scoped to the project.
//
// - The token is renewed when three quarters of its lifetime have passed (about 6 h early for a 24 h token),
//   and at once after IEF rejects it with 401 (unless it is under a minute old). Only one IAM request is in flight
//   per project: other requests keep using the still-valid token, or wait for the renewal when there is none.
// - IAM's times are not trusted blindly: the lifetime is expires_at - issued_at applied to the exporter's own
//   clock, at least 10 s; times that give none (an expiry already past without issued_at, or before issued_at: a
//   skewed clock) count as a 10-minute lifetime, so they cost no login storm. Logins stay under 8 a minute
//   whatever IAM answers; the clock skew is exported and doubtful times are logged once.
// - A rejected password is never retried in a loop (five wrong passwords lock the IAM user): attempts back off
//   1m, 2m, 4m... up to 30m, each step logged once. A changed password_file ends the back-off at once. The
//   authenticator outlives config reloads that leave its settings alone, so a reload does not end the back-off.
//   Other IAM failures (timeouts, 5xx) back off from 5 s to 5 min.
#pragma once

#include <condition_variable>
#include <memory>
#include <optional>
#include <string>

#include "upstream/auth/auth.h"
#include "util/mutex.h"

namespace ief {

struct IamToken {
  std::string token;
  WallTime expires_at;
  std::optional<WallTime> issued_at;  // when IAM said
};

// How a token's times are read (ReadTokenTimes).
struct IamTokenTimes {
  std::chrono::nanoseconds stated_lifetime{0};  // expires_at - issued_at; without a usable issued_at, expires_at - now
  std::chrono::nanoseconds lifetime{0};         // the one used: the stated one within 10 s to 7 days, or 10 minutes
  std::chrono::nanoseconds clock_skew{0};       // IAM's clock minus the exporter's, as far as the answer tells
  bool doubtful = false;                        // the lifetime was bounded, or the clocks differ by over a minute
};
IamTokenTimes ReadTokenTimes(const IamToken& token, WallTime received_at);

// The body of a password-token request. `project_name` empty: scope by project id.
std::string IamPasswordRequestBody(const IamAuthConfig& config, const std::string& password,
                                   const std::string& project_id);

class IamTokenAuthenticator : public RequestAuthenticator {
 public:
  IamTokenAuthenticator(IamAuthConfig config, std::string project_id, std::unique_ptr<HttpTransport> transport,
                        ApiObserver* observer, const Clock& clock);

  Status Authenticate(HttpRequest& request) override;
  bool RenewAfterRejection(const HttpRequest& rejected) override;

 private:
  Result<std::string> CurrentToken(const HttpRequest& for_request);
  // One IAM round trip, bounded by `for_request`'s timeout and cancellation; called by the single renewing thread,
  // without the state lock. Errors: kAuthRejected when IAM refuses the credentials, else the failure's kind.
  Result<IamToken> RequestToken(const std::string& password, const HttpRequest& for_request);
  Result<IamToken> ReadTokenAnswer(const HttpResponse& response);
  void RecordSuccess(const IamToken& token, SteadyTime now) REQUIRES(mutex_);
  void RecordFailure(const Error& error, SteadyTime now) REQUIRES(mutex_);
  bool TokenUsable(SteadyTime now) const REQUIRES(mutex_) {
    return !token_.empty() && now < expires_at_ - expiry_margin_;
  }

  const IamAuthConfig config_;
  const std::string project_id_;
  std::unique_ptr<HttpTransport> transport_;  // used only by the renewing thread
  ApiObserver* observer_;
  const Clock& clock_;
  SecretSource password_;

  Mutex mutex_;
  std::condition_variable renewed_;
  bool renewing_ GUARDED_BY(mutex_) = false;
  std::string token_ GUARDED_BY(mutex_);
  SteadyTime expires_at_ GUARDED_BY(mutex_){};
  SteadyTime renew_at_ GUARDED_BY(mutex_){};  // three quarters into the token's life
  // Stop using a token this long before it expires.
  std::chrono::nanoseconds expiry_margin_ GUARDED_BY(mutex_){0};
  SteadyTime obtained_at_ GUARDED_BY(mutex_){};
  int failures_ GUARDED_BY(mutex_) = 0;
  SteadyTime next_attempt_at_ GUARDED_BY(mutex_){};
  std::string last_error_ GUARDED_BY(mutex_);
  std::string failed_password_version_ GUARDED_BY(mutex_);  // password_file version that IAM rejected
  bool times_warned_ GUARDED_BY(mutex_) = false;  // the latest token's times were doubtful, and that was logged
};

}  // namespace ief
