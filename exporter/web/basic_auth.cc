#include "web/basic_auth.h"

#include <crypt.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "util/crypto.h"

namespace ief {
namespace {

constexpr size_t kMaxRememberedPairs = 1024;
constexpr int kDefaultBcryptCost = 10;  // htpasswd -B and exporter-toolkit's documentation use 10

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// The cost of a "$2y$10$..." hash, or nullopt when the two digits are not there.
std::optional<int> BcryptCost(const std::string& hash) {
  if (hash.size() < 7 || hash[6] != '$' || !std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5]))) {
    return std::nullopt;
  }
  return (hash[4] - '0') * 10 + (hash[5] - '0');
}

// Gives a taken check slot back when the check is over, however it ends.
class SlotReturn {
 public:
  explicit SlotReturn(std::counting_semaphore<>& slots) : slots_(slots) {}
  ~SlotReturn() { slots_.release(); }
  SlotReturn(const SlotReturn&) = delete;
  SlotReturn& operator=(const SlotReturn&) = delete;

 private:
  std::counting_semaphore<>& slots_;
};

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

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view authorization) {
  constexpr std::string_view kPrefix = "Basic ";
  if (!authorization.starts_with(kPrefix)) return std::nullopt;
  std::optional<std::string> decoded = DecodeBase64(authorization.substr(kPrefix.size()));
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: too big for a CivetWeb thread's 100 KiB stack
  const char* computed = crypt_r(password.c_str(), hash.c_str(), data.get());
  return computed != nullptr && crypto::ConstantTimeEquals(computed, hash);
}

std::string MakeDummyBcryptHash(const std::map<std::string, std::string>& hashes) {
  int cost = 0;
  for (const auto& [user, hash] : hashes) cost = std::max(cost, BcryptCost(hash).value_or(0));
  cost = cost == 0 ? kDefaultBcryptCost : std::clamp(cost, 4, 31);  // what bcrypt accepts
  // A fixed salt is enough: the dummy hash is never shown, and it refuses whatever it is checked against.
  std::string salt = "$2b$" + std::to_string(cost / 10) + std::to_string(cost % 10) + "$iefexporterdummysaltxx";
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_r("no user has this password", salt.c_str(), data.get());
  // crypt_r given the salt alone still pays the full cost, should it ever refuse to make the hash.
  return hash != nullptr && hash[0] == '$' ? std::string(hash) : salt;
}

BasicAuthVerifier::BasicAuthVerifier(std::map<std::string, std::string> users, int max_concurrent_checks)
    : users_(std::move(users)),
      dummy_hash_(MakeDummyBcryptHash(users_)),
      check_slots_(std::max(max_concurrent_checks, 1)) {}

AuthDecision BasicAuthVerifier::Check(std::string_view authorization) {
  std::optional<BasicCredentials> credentials = ParseBasicAuthorization(authorization);
  if (!credentials) return AuthDecision::kRefused;
  auto user = users_.find(credentials->user);
  const bool known = user != users_.end();
  // Unknown users go through the same steps against the dummy hash, so they cost the same.
  const std::string& hash = known ? user->second : dummy_hash_;
  const std::string key = crypto::Sha256Hex(credentials->user + '\0' + credentials->password + '\0' + hash);
  if (IsRemembered(key)) return AuthDecision::kAllowed;  // only ever true for a known user's right password

  std::optional<bool> matches = BcryptWithinCap(credentials->password, hash);
  if (!matches) return AuthDecision::kBusy;
  if (!known || !*matches) return AuthDecision::kRefused;
  Remember(key);
  return AuthDecision::kAllowed;
}

std::optional<bool> BasicAuthVerifier::BcryptWithinCap(const std::string& password, const std::string& hash) {
  if (!check_slots_.try_acquire()) return std::nullopt;
  SlotReturn slot_return(check_slots_);
  return BcryptMatches(password, hash);
}

bool BasicAuthVerifier::IsRemembered(const std::string& key) {
  MutexLock lock(mutex_);
  return verified_.count(key) != 0;
}

void BasicAuthVerifier::Remember(const std::string& key) {
  MutexLock lock(mutex_);
  if (verified_.size() >= kMaxRememberedPairs) verified_.clear();  // only right passwords get here: rare
  verified_.insert(key);
}

}  // namespace ief
