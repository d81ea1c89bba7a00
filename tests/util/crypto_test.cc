#include "util/crypto.h"

#include <catch2/catch.hpp>

TEST_CASE("Sha256Hex matches the standard test vectors") {
  CHECK(ief::crypto::Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(ief::crypto::Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(ief::crypto::Sha256Hex(std::string("a\0b", 3)) != ief::crypto::Sha256Hex("a"));  // NUL bytes count
}

TEST_CASE("ConstantTimeEquals compares whole strings") {
  CHECK(ief::crypto::ConstantTimeEquals("secret", "secret"));
  CHECK(ief::crypto::ConstantTimeEquals("", ""));
  CHECK_FALSE(ief::crypto::ConstantTimeEquals("secret", "secreT"));
  CHECK_FALSE(ief::crypto::ConstantTimeEquals("secret", "secret "));
  CHECK_FALSE(ief::crypto::ConstantTimeEquals("", "x"));
}
