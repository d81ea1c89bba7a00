// How a request to IEF is authenticated. One authenticator per project, shared by all worker threads.
// Secrets stay inside these objects: Authenticate() writes them into request headers and nowhere else, and error
// messages name files, never their content.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "config/config.h"
#include "ief/http.h"
#include "util/result.h"

namespace ief {

class RequestAuthenticator {
 public:
  virtual ~RequestAuthenticator() = default;
  // Adds the credentials to `request`. Thread-safe.
  virtual Status Authenticate(HttpRequest& request) = 0;
};

// auth.token: a fixed X-Auth-Token.
class StaticTokenAuthenticator : public RequestAuthenticator {
 public:
  explicit StaticTokenAuthenticator(std::string token) : token_(std::move(token)) {}
  Status Authenticate(HttpRequest& request) override;

 private:
  const std::string token_;
};

// auth.token_file: the token is re-read whenever the file changes (a sidecar may rotate it), detected by its
// modification time, size and inode, so an unchanged file costs one stat() per request.
class TokenFileAuthenticator : public RequestAuthenticator {
 public:
  explicit TokenFileAuthenticator(std::string path) : path_(std::move(path)) {}
  Status Authenticate(HttpRequest& request) override;

 private:
  Result<std::string> CurrentToken();

  const std::string path_;
  std::mutex mutex_;
  std::string token_;
  std::string file_version_;  // mtime/size/inode of the file token_ was read from
};

// Stands in for an auth form this build cannot perform yet: every request fails with `reason`.
class UnsupportedAuthenticator : public RequestAuthenticator {
 public:
  explicit UnsupportedAuthenticator(std::string reason) : reason_(std::move(reason)) {}
  Status Authenticate(HttpRequest&) override { return Error{reason_}; }

 private:
  const std::string reason_;
};

std::shared_ptr<RequestAuthenticator> MakeAuthenticator(const AuthConfig& auth);

// Largest secret file we read (a Keystone/IAM token is about 10 KB).
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

}  // namespace ief
