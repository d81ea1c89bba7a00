// Throw-away keys and certificates (valid one day) made with the openssl command, for the TLS tests: a
// self-signed certificate, or a small CA and the server and client certificates it signs.
// `subject_alt_name` is openssl's spelling: "IP:127.0.0.1,IP:::1,DNS:localhost".
#pragma once

#include <string>

#include "support/fixtures.h"

namespace ief::testing {

// A certificate authority: an EC P-256 key and its self-signed CA certificate.
struct TestCa {
  explicit TestCa(const std::string& name);
  TempFile key{"", ".key"};
  TempFile cert{"", ".pem"};
  bool ok = false;
};

struct TestCertificate {
  enum class Use { kServer, kClient };  // extendedKeyUsage serverAuth or clientAuth
  // Self-signed, RSA 2048.
  TestCertificate(const std::string& common_name, const std::string& subject_alt_name);
  // Signed by `ca`, EC P-256.
  TestCertificate(const TestCa& ca, const std::string& common_name, const std::string& subject_alt_name, Use use);
  TempFile key{"", ".key"};
  TempFile cert{"", ".pem"};
  bool ok = false;
};

}  // namespace ief::testing
