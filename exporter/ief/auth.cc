#include "ief/auth.h"

#include <sys/stat.h>

#include <chrono>

#include "ief/aksk_signer.h"
#include "ief/iam_auth.h"
#include "util/file.h"
#include "util/text.h"

namespace ief {
namespace {

constexpr const char* kTokenHeader = "X-Auth-Token";

std::string FileVersion(const struct stat& st) {
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
         std::to_string(st.st_size) + "/" + std::to_string(st.st_ino);
}

bool IsHeaderSafe(std::string_view value) {
  for (char c : value) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

double SystemClock() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string HeaderValue(const HttpRequest& request, std::string_view name) {
  for (const auto& [n, v] : request.headers) {
    if (n == name) return v;
  }
  return "";
}

}  // namespace

SecretSource::SecretSource(std::string what, std::string inline_value, std::string path)
    : what_(std::move(what)), path_(std::move(path)), value_(std::move(inline_value)) {}

std::string SecretSource::Version() {
  if (path_.empty()) return "";
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return "missing";
  return FileVersion(st);
}

Result<std::string> SecretSource::Get() {
  if (path_.empty()) return value_;
  std::string version = Version();
  if (version == "missing") return Error{"cannot read " + what_ + " " + path_};
  std::lock_guard<std::mutex> lock(mutex_);
  if (version != version_ || value_.empty()) {
    Result<std::string> content = ReadFileCapped(path_, kMaxSecretFileBytes);
    if (!content.ok()) return Error{"cannot read " + what_ + " " + path_ + " (missing, unreadable or over 64 KiB)"};
    std::string secret(TrimTrailingWhitespace(*content));
    if (secret.empty()) return Error{what_ + " " + path_ + " is empty"};
    value_ = std::move(secret);
    version_ = version;
  }
  return value_;
}

Status TokenAuthenticator::Authenticate(HttpRequest& request) {
  Result<std::string> token = token_->Get();
  if (!token.ok()) return Error{token.error()};
  if (!IsHeaderSafe(*token)) return Error{"the token holds characters not allowed in a header"};
  request.headers.emplace_back(kTokenHeader, *token);
  return Status::Ok();
}

bool TokenAuthenticator::RenewAfterRejection(const HttpRequest& rejected) {
  Result<std::string> current = token_->Get();
  return current.ok() && *current != HeaderValue(rejected, kTokenHeader);
}

AkskAuthenticator::AkskAuthenticator(AkskAuthConfig config, std::string project_id, Clock clock)
    : access_key_(config.access_key),
      security_token_(config.security_token),
      project_id_(std::move(project_id)),
      secret_key_("secret_key_file", config.secret_key, config.secret_key_file),
      clock_(std::move(clock)) {}

Status AkskAuthenticator::Authenticate(HttpRequest& request) {
  Result<std::string> secret = secret_key_.Get();
  if (!secret.ok()) return Error{secret.error()};
  request.headers.emplace_back("X-Project-Id", project_id_);
  if (!security_token_.empty()) request.headers.emplace_back("X-Security-Token", security_token_);
  SignRequest(request, access_key_, *secret, static_cast<std::time_t>(clock_()));
  return Status::Ok();
}

std::shared_ptr<RequestAuthenticator> MakeAuthenticator(const ProjectConfig& project, const AuthDependencies& deps) {
  std::function<double()> clock = deps.clock ? deps.clock : std::function<double()>(SystemClock);
  const AuthConfig& auth = project.auth;
  switch (auth.kind) {
    case AuthConfig::Kind::kToken:
      return std::make_shared<TokenAuthenticator>(std::make_shared<SecretSource>("token", auth.token, ""));
    case AuthConfig::Kind::kTokenFile:
      return std::make_shared<TokenAuthenticator>(std::make_shared<SecretSource>("token_file", "", auth.token_file));
    case AuthConfig::Kind::kAksk:
      return std::make_shared<AkskAuthenticator>(auth.aksk, project.project_id, clock);
    case AuthConfig::Kind::kIam:
      return std::make_shared<IamTokenAuthenticator>(auth.iam, project.project_id,
                                                     MakeHttpTransport(deps.transport), deps.observer,
                                                     clock);
  }
  return nullptr;
}

}  // namespace ief
