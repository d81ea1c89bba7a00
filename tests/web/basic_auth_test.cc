#include "web/basic_auth.h"

#include <catch2/catch.hpp>

#include "support/bcrypt.h"

namespace {

std::string Basic(const std::string& user_and_password) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : user_and_password) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
  while (out.size() % 4 != 0) out += '=';
  return "Basic " + out;
}

}  // namespace

TEST_CASE("basic auth accepts the right password and nothing else") {
  ief::BasicAuthVerifier verifier({{"alice", ief::testing::BcryptHash("correct horse")}});
  CHECK(verifier.Allows(Basic("alice:correct horse")));
  CHECK(verifier.Allows(Basic("alice:correct horse")));  // the remembered pair still checks out
  CHECK_FALSE(verifier.Allows(Basic("alice:correct horsE")));
  CHECK_FALSE(verifier.Allows(Basic("alice:")));
  CHECK_FALSE(verifier.Allows(Basic("mallory:correct horse")));
  CHECK_FALSE(verifier.Allows(Basic("alicecorrect horse")));
  CHECK_FALSE(verifier.Allows(""));
  CHECK_FALSE(verifier.Allows("Bearer abc"));
  CHECK_FALSE(verifier.Allows("Basic !!!"));
}

TEST_CASE("passwords may contain colons") {
  ief::BasicAuthVerifier verifier({{"bob", ief::testing::BcryptHash("a:b:c")}});
  CHECK(verifier.Allows(Basic("bob:a:b:c")));
}

TEST_CASE("DecodeBase64") {
  CHECK(ief::DecodeBase64("YWxpY2U6cHc=") == std::optional<std::string>("alice:pw"));
  CHECK(ief::DecodeBase64("") == std::optional<std::string>(""));
  CHECK_FALSE(ief::DecodeBase64("a*b").has_value());
}
