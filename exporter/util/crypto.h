// Hashing for the modules that need it (request signing, the basic-auth success cache), from OpenSSL.
#pragma once

#include <string>
#include <string_view>

namespace ief {

// Lower-case hex of SHA-256(data).
std::string Sha256Hex(std::string_view data);
// Lower-case hex of HMAC-SHA-256(key, data).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace ief
