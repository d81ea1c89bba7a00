// HTTP basic authentication against bcrypt hashes (the exporter-toolkit's basic_auth_users), built to survive a
// password-guessing flood:
// - bcrypt costs tens of milliseconds on purpose; a successful (user, password) pair is remembered by its SHA-256,
//   so a scrape every 15 s does not pay that each time. Failures are never remembered: guessing stays expensive,
//   and a flood of wrong passwords cannot push the scrapers' pairs out of the memory.
// - An unknown user costs a bcrypt check too (against a dummy hash as expensive as the configured ones), so the
//   answer's timing does not tell which user names exist.
// - At most `max_concurrent_checks` bcrypt checks run at once; a request that would need another is answered
//   kBusy (429) at once instead of waiting. CivetWeb gives each connection a worker thread: waiting for a check
//   (as exporter-toolkit's mutex does in Go, where a waiting goroutine is cheap) would let a flood hold every
//   worker, while a scraper whose pair is remembered needs no check and goes straight through.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <semaphore>
#include <set>
#include <string>
#include <string_view>

#include "util/mutex.h"
#include "web/http_server.h"

namespace ief {

class BasicAuthVerifier {
 public:
  // One check at a time by default: bcrypt keeps a core busy for its whole run, and on a small machine the other
  // core is what serves the scrapes.
  static constexpr int kDefaultConcurrentChecks = 1;

  // `users` maps user names to bcrypt hashes. Makes the dummy hash for unknown users (one bcrypt run).
  explicit BasicAuthVerifier(std::map<std::string, std::string> users,
                             int max_concurrent_checks = kDefaultConcurrentChecks);

  // Decides on an Authorization header value ("Basic base64(user:password)").
  AuthDecision Check(std::string_view authorization);

  // The hash an unknown user's password is checked against (the user is refused whatever the outcome).
  const std::string& dummy_hash() const { return dummy_hash_; }

 private:
  // The bcrypt verdict, or nullopt at once when every check slot is taken.
  std::optional<bool> BcryptWithinCap(const std::string& password, const std::string& hash);
  bool IsRemembered(const std::string& key);
  void Remember(const std::string& key);

  const std::map<std::string, std::string> users_;
  const std::string dummy_hash_;
  std::counting_semaphore<> check_slots_;
  Mutex mutex_;
  // SHA-256 of "user\0password\0hash" for pairs that passed bcrypt.
  std::set<std::string> verified_ GUARDED_BY(mutex_);
};

// The user and password of a "Basic ..." header value; nullopt when it is not one.
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view authorization);

// Decodes standard base64; nullopt for malformed input.
std::optional<std::string> DecodeBase64(std::string_view text);

// True when `password` matches the bcrypt `hash` (libcrypt; compared in constant time).
bool BcryptMatches(const std::string& password, const std::string& hash);

// A bcrypt hash with the highest cost among `hashes` (10 when there are none), so that
// checking a password against it takes as long as against the slowest configured user.
std::string MakeDummyBcryptHash(const std::map<std::string, std::string>& hashes);

}  // namespace ief
