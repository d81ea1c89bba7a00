#include "support/certificates.h"

#include <vector>

#include "support/process.h"

namespace ief::testing {
namespace {

bool OpenSsl(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), "/usr/bin/openssl");
  std::string output;
  return RunCommand(arguments, "", output) == 0;
}

const std::vector<std::string> kEcKey = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"};

}  // namespace

TestCa::TestCa(const std::string& name) {
  std::vector<std::string> arguments = {"req", "-x509", "-days", "1", "-subj", "/CN=" + name, "-keyout", key.path(),
                                        "-out", cert.path()};
  arguments.insert(arguments.begin() + 2, kEcKey.begin(), kEcKey.end());
  ok = OpenSsl(arguments);  // openssl.cnf's v3_ca: basicConstraints CA:TRUE
}

TestCertificate::TestCertificate(const std::string& common_name, const std::string& subject_alt_name) {
  ok = OpenSsl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=" + common_name,
                "-addext", "subjectAltName=" + subject_alt_name, "-keyout", key.path(), "-out", cert.path()});
}

TestCertificate::TestCertificate(const TestCa& ca, const std::string& common_name,
                                 const std::string& subject_alt_name, Use use) {
  std::vector<std::string> arguments = {
      "req", "-x509", "-days", "1", "-subj", "/CN=" + common_name,
      // v3_req: basicConstraints CA:FALSE and the key usages of a TLS end entity.
      "-extensions", "v3_req", "-addext", "subjectAltName=" + subject_alt_name, "-addext",
      std::string("extendedKeyUsage=") + (use == Use::kServer ? "serverAuth" : "clientAuth"), "-CA", ca.cert.path(),
      "-CAkey", ca.key.path(), "-keyout", key.path(), "-out", cert.path()};
  arguments.insert(arguments.begin() + 2, kEcKey.begin(), kEcKey.end());
  ok = ca.ok && OpenSsl(arguments);
}

}  // namespace ief::testing
