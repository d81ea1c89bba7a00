// Small cryptographic helpers (OpenSSL underneath) shared by modules that must not depend on each other: the web
// module's password cache, the upstream request signer and the authenticator keys.
#pragma once

#include <string>
#include <string_view>

namespace ief::crypto {

// SHA-256 of `data` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// HMAC-SHA-256 of `data` under `key`, as lower-case hex digits.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// Equality whose running time depends only on the lengths, never on where the first difference is, so comparing
// a secret against a guess reveals nothing through timing.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace ief::crypto
