// bcrypt hashes for tests (low cost, so tests stay fast).
#pragma once

#include <crypt.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace ief::testing {

inline std::string BcryptHash(const std::string& password, int cost = 4) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof salt) == nullptr) throw std::runtime_error("gensalt");
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_r(password.c_str(), salt, data.get());
  if (hash == nullptr || hash[0] == '*') throw std::runtime_error("crypt_r");
  return hash;
}

}  // namespace ief::testing
