// The --web.config.file, in the Prometheus exporter-toolkit format:
//   basic_auth_users:
//     alice: $2y$10$...   (bcrypt hash, e.g. from `htpasswd -nBC 10 alice`)
// tls_server_config is refused: Debian's CivetWeb crashes on TLS with OpenSSL 3, so TLS is terminated in front.
#pragma once

#include <map>
#include <string>

#include "util/result.h"

namespace ief {

struct WebConfig {
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
};

// Like LoadConfigFile (config.h): every problem with its position, safe at any nesting.
Result<WebConfig> LoadWebConfigFile(const std::string& path);
Result<WebConfig> ParseWebConfig(std::string_view text, const std::string& source);

}  // namespace ief
