#include "upstream/auth/auth.h"

#include <sys/stat.h>

#include <chrono>

#include "upstream/auth/aksk_signer.h"
#include "upstream/auth/iam_auth.h"
#include "util/crypto.h"
#include "util/file.h"
#include "util/text.h"

namespace ief {
namespace {

constexpr const char* kTokenHeader = "X-Auth-Token";

std::string FileVersion(const struct stat& st) {
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
         std::to_string(st.st_size) + "/" + std::to_string(st.st_ino);
}

Error Unavailable(std::string message) { return Error(ErrorKind::kAuthUnavailable, std::move(message)); }

}  // namespace

SecretSource::SecretSource(std::string what, std::string inline_value, std::string path)
    : what_(std::move(what)), path_(std::move(path)), inline_value_(std::move(inline_value)) {}

std::string SecretSource::Version() {
  if (path_.empty()) return "";
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return "missing";
  return FileVersion(st);
}

Result<std::string> SecretSource::Get() {
  if (path_.empty()) return inline_value_;
  const std::string version = Version();
  const bool known_version = version != "missing";  // a file that is gone is read again, to say why
  if (known_version) {
    MutexLock lock(mutex_);
    if (version == version_ && !value_.empty()) return value_;
  }
  // Read without the lock. Two threads may both read a changed file; either result is the file's content.
  Result<std::string> content = ReadFileCapped(path_, kMaxSecretFileBytes);
  if (!content.ok()) return Unavailable(what_ + ": " + content.error().message);
  std::string secret(TrimTrailingWhitespace(*content));
  if (secret.empty()) return Unavailable(what_ + " " + path_ + " is empty");
  if (known_version) {
    MutexLock lock(mutex_);
    value_ = secret;
    version_ = version;
  }
  return secret;
}

Status TokenAuthenticator::Authenticate(HttpRequest& request) {
  Result<std::string> token = token_->Get();
  if (!token.ok()) return token.error();
  if (!IsValidHeaderValue(*token)) return Unavailable("the token holds characters not allowed in a header");
  request.headers.emplace_back(kTokenHeader, *token);
  return Status::Ok();
}

bool TokenAuthenticator::RenewAfterRejection(const HttpRequest& rejected) {
  Result<std::string> current = token_->Get();
  return current.ok() && *current != rejected.Header(kTokenHeader);
}

AkskAuthenticator::AkskAuthenticator(AkskAuthConfig config, std::string project_id, const Clock& clock)
    : access_key_(config.access_key),
      security_token_(config.security_token),
      project_id_(std::move(project_id)),
      secret_key_("secret_key_file", config.secret_key, config.secret_key_file),
      clock_(clock) {}

Status AkskAuthenticator::Authenticate(HttpRequest& request) {
  Result<std::string> secret = secret_key_.Get();
  if (!secret.ok()) return secret.error();
  request.headers.emplace_back("X-Project-Id", project_id_);
  if (!security_token_.empty()) request.headers.emplace_back("X-Security-Token", security_token_);
  return SignRequest(request, access_key_, *secret, clock_.Wall());
}

std::shared_ptr<RequestAuthenticator> MakeAuthenticator(const ProjectConfig& project, const AuthDependencies& deps) {
  const AuthConfig& auth = project.auth;
  switch (auth.kind) {
    case AuthConfig::Kind::kToken:
      return std::make_shared<TokenAuthenticator>(std::make_shared<SecretSource>("token", auth.token, ""));
    case AuthConfig::Kind::kTokenFile:
      return std::make_shared<TokenAuthenticator>(std::make_shared<SecretSource>("token_file", "", auth.token_file));
    case AuthConfig::Kind::kAksk:
      return std::make_shared<AkskAuthenticator>(auth.aksk, project.project_id, *deps.clock);
    case AuthConfig::Kind::kIam:
      return std::make_shared<IamTokenAuthenticator>(auth.iam, project.project_id, deps.make_transport(),
                                                     deps.observer, *deps.clock);
  }
  return nullptr;
}

std::string AuthenticatorKey(const ProjectConfig& project) {
  const AuthConfig& auth = project.auth;
  std::string fields;
  auto add = [&fields](std::string_view value) {
    fields += std::to_string(value.size());  // length-prefixed, so no two field lists join into the same text
    fields += ':';
    fields += value;
  };
  add(project.project_id);
  add(std::to_string(static_cast<int>(auth.kind)));
  for (std::string_view value : {std::string_view(auth.token), std::string_view(auth.token_file),
                                 std::string_view(auth.iam.endpoint), std::string_view(auth.iam.domain),
                                 std::string_view(auth.iam.user), std::string_view(auth.iam.password),
                                 std::string_view(auth.iam.password_file), std::string_view(auth.iam.project_name),
                                 std::string_view(auth.aksk.access_key), std::string_view(auth.aksk.secret_key),
                                 std::string_view(auth.aksk.secret_key_file),
                                 std::string_view(auth.aksk.security_token)}) {
    add(value);
  }
  return crypto::Sha256Hex(fields);
}

}  // namespace ief
