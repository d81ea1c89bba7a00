#include "web/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cstring>
#include <memory>
#include <optional>

#include "util/crypto.h"

namespace ief {
namespace {

constexpr size_t kMaxRememberedPairs = 1024;

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> DecodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = Base64Value(c);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

bool BasicAuthVerifier::CheckBcrypt(const std::string& password, const std::string& hash) const {
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: too big for a CivetWeb thread's stack
  const char* computed = crypt_r(password.c_str(), hash.c_str(), data.get());
  return computed != nullptr && std::strlen(computed) == hash.size() &&
         CRYPTO_memcmp(computed, hash.data(), hash.size()) == 0;
}

bool BasicAuthVerifier::Allows(const std::string& authorization) {
  constexpr std::string_view kPrefix = "Basic ";
  if (!authorization.starts_with(kPrefix)) return false;
  std::optional<std::string> decoded = DecodeBase64(std::string_view(authorization).substr(kPrefix.size()));
  if (!decoded) return false;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  std::string user = decoded->substr(0, colon);
  std::string password = decoded->substr(colon + 1);
  auto it = users_.find(user);
  if (it == users_.end()) return false;

  std::string key = Sha256Hex(user + '\0' + password + '\0' + it->second);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (verified_.count(key) != 0) return true;
  }
  if (!CheckBcrypt(password, it->second)) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  if (verified_.size() >= kMaxRememberedPairs) verified_.clear();
  verified_.insert(key);
  return true;
}

}  // namespace ief
