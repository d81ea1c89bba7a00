// How a request to IEF is authenticated. One authenticator per project, shared by all worker threads.
// Secrets stay inside these objects: Authenticate() writes them into request headers and nowhere else, and error
// messages name files, never their content.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "upstream/http/api_observer.h"
#include "upstream/http/http.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/result.h"

namespace ief {

class RequestAuthenticator {
 public:
  virtual ~RequestAuthenticator() = default;
  // Adds the credentials to `request`. Thread-safe. An error (kAuthUnavailable) means nothing should be sent.
  // Whatever it must ask for itself (an IAM token) is bounded by `request`'s timeout and cancellation.
  virtual Status Authenticate(HttpRequest& request) = 0;
  // Called when IEF answered `rejected` with 401. Returns true when fresh credentials are available now, so
  // that resending the request once is worthwhile.
  virtual bool RenewAfterRejection(const HttpRequest& rejected) {
    (void)rejected;
    return false;
  }
};

// A secret given inline or as a file. A file is re-read whenever it changes (a sidecar may rotate it), detected
// by modification time, size and inode, so an unchanged file costs one stat() per use. Thread-safe; the file is
// read outside the lock (with ReadFileCapped, which never blocks on a pipe or device), so a slow file system
// stalls only the thread that reads, never the others.
class SecretSource {
 public:
  // `what` names the secret in messages ("token_file"); `inline_value` is used when `path` is empty.
  SecretSource(std::string what, std::string inline_value, std::string path);
  // The current secret (trailing whitespace trimmed), or an error that names the file but not the content.
  Result<std::string> Get();
  // An opaque tag that changes when the file changes (empty for inline secrets).
  std::string Version();

 private:
  const std::string what_;
  const std::string path_;
  const std::string inline_value_;
  Mutex mutex_;
  std::string value_ GUARDED_BY(mutex_);    // the file's content when it was last read
  std::string version_ GUARDED_BY(mutex_);  // the file's Version() then
};

// auth.token / auth.token_file: the X-Auth-Token header.
class TokenAuthenticator : public RequestAuthenticator {
 public:
  explicit TokenAuthenticator(std::shared_ptr<SecretSource> token) : token_(std::move(token)) {}
  Status Authenticate(HttpRequest& request) override;
  // A rotated token file is worth one more try; a static token is not.
  bool RenewAfterRejection(const HttpRequest& rejected) override;

 private:
  std::shared_ptr<SecretSource> token_;
};

// auth.aksk: SDK-HMAC-SHA256 signing, with X-Project-Id (and X-Security-Token for temporary credentials).
class AkskAuthenticator : public RequestAuthenticator {
 public:
  AkskAuthenticator(AkskAuthConfig config, std::string project_id, const Clock& clock);
  Status Authenticate(HttpRequest& request) override;

 private:
  const std::string access_key_;
  const std::string security_token_;
  const std::string project_id_;
  SecretSource secret_key_;
  const Clock& clock_;
};

// What building an authenticator may need besides the project's config.
struct AuthDependencies {
  ApiObserver* observer = nullptr;                                  // IAM requests are counted like IEF requests
  std::function<std::unique_ptr<HttpTransport>()> make_transport;   // for IAM requests
  const Clock* clock = &SystemClock();
};

std::shared_ptr<RequestAuthenticator> MakeAuthenticator(const ProjectConfig& project, const AuthDependencies& deps);

// Equal for two project configs exactly when their authenticators would be the same (project, form and every
// credential field, secrets included): a reload keeps an authenticator, with its token and back-off, when this
// stays the same. A digest, so the secrets it covers are not kept in another place.
std::string AuthenticatorKey(const ProjectConfig& project);

}  // namespace ief
