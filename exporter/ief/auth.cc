#include "ief/auth.h"

#include <sys/stat.h>

#include "util/file.h"
#include "util/text.h"

namespace ief {
namespace {

constexpr const char* kTokenHeader = "X-Auth-Token";

std::string FileVersion(const struct stat& st) {
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
         std::to_string(st.st_size) + "/" + std::to_string(st.st_ino);
}

}  // namespace

Status StaticTokenAuthenticator::Authenticate(HttpRequest& request) {
  request.headers.emplace_back(kTokenHeader, token_);
  return Status::Ok();
}

Result<std::string> TokenFileAuthenticator::CurrentToken() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return Error{"cannot read token_file " + path_};
  std::string version = FileVersion(st);
  std::lock_guard<std::mutex> lock(mutex_);
  if (version != file_version_ || token_.empty()) {
    Result<std::string> content = ReadFileCapped(path_, kMaxSecretFileBytes);
    if (!content.ok()) return Error{"cannot read token_file " + path_};
    std::string token(TrimTrailingWhitespace(*content));
    if (token.empty()) return Error{"token_file " + path_ + " is empty"};
    for (char c : token) {
      if (c < 0x20 || c >= 0x7f) return Error{"token_file " + path_ + " holds characters not allowed in a header"};
    }
    token_ = std::move(token);
    file_version_ = version;
  }
  return token_;
}

Status TokenFileAuthenticator::Authenticate(HttpRequest& request) {
  Result<std::string> token = CurrentToken();
  if (!token.ok()) return Error{token.error()};
  request.headers.emplace_back(kTokenHeader, *token);
  return Status::Ok();
}

std::shared_ptr<RequestAuthenticator> MakeAuthenticator(const AuthConfig& auth) {
  switch (auth.kind) {
    case AuthConfig::Kind::kToken:
      return std::make_shared<StaticTokenAuthenticator>(auth.token);
    case AuthConfig::Kind::kTokenFile:
      return std::make_shared<TokenFileAuthenticator>(auth.token_file);
    case AuthConfig::Kind::kIam:
      return std::make_shared<UnsupportedAuthenticator>("auth.iam is not supported by this version yet");
    case AuthConfig::Kind::kAksk:
      return std::make_shared<UnsupportedAuthenticator>("auth.aksk is not supported by this version yet");
  }
  return std::make_shared<UnsupportedAuthenticator>("unknown auth form");
}

}  // namespace ief
