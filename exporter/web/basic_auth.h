// HTTP basic authentication against bcrypt hashes (the exporter-toolkit's basic_auth_users).
// bcrypt costs tens of milliseconds on purpose; a successful (user, password) pair is remembered by its SHA-256
// so a scrape every 15 s does not pay that each time. Failures are never cached: guessing stays expensive.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <string>

namespace ief {

class BasicAuthVerifier {
 public:
  explicit BasicAuthVerifier(std::map<std::string, std::string> users) : users_(std::move(users)) {}

  // True when `authorization` ("Basic base64(user:password)") names a configured user with the right password.
  bool Allows(const std::string& authorization);

 private:
  bool CheckBcrypt(const std::string& password, const std::string& hash) const;

  const std::map<std::string, std::string> users_;
  std::mutex mutex_;
  std::set<std::string> verified_;  // SHA-256 of "user\0password\0hash" for pairs that passed bcrypt
};

// Decodes standard base64; nullopt for malformed input.
std::optional<std::string> DecodeBase64(std::string_view text);

}  // namespace ief
