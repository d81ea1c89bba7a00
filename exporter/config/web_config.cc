#include "config/web_config.h"

#include "config/yaml_reader.h"
#include "util/file.h"

namespace ief {
namespace {

constexpr const char* kTlsRefusal =
    "tls_server_config is not supported: this build's HTTP server cannot serve TLS safely. Terminate TLS in front "
    "of the exporter (nginx or stunnel, see the README) and keep basic_auth_users here";

bool LooksLikeBcrypt(const std::string& hash) {
  return hash.size() == 60 && (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"));
}

Result<WebConfig> ParseWebConfigOnThisThread(std::string_view text, const std::string& source) {
  ConfigReader reader(source);
  YAML::Node root;
  if (!LoadYaml(reader, text, root)) return Error(ErrorKind::kInvalidArgument, reader.JoinedErrors());
  WebConfig config;
  if (reader.CheckMap(root, "the web config", {"basic_auth_users", "tls_server_config", "http_server_config"})) {
    YAML::Node tls = ConfigReader::Child(root, "tls_server_config");
    if (tls.IsDefined()) reader.Fail(ConfigReader::KeyMark(root, "tls_server_config"), kTlsRefusal);
    YAML::Node http = ConfigReader::Child(root, "http_server_config");
    if (http.IsDefined()) reader.CheckMap(http, "http_server_config", {});
    YAML::Node users = ConfigReader::Child(root, "basic_auth_users");
    if (users.IsDefined() && reader.CheckMap(users, "basic_auth_users", {}, /*any_keys=*/true)) {
      for (auto it = users.begin(); it != users.end(); ++it) {
        const YAML::Node name = it->first;
        const YAML::Node hash = it->second;
        if (!hash.IsScalar() || !LooksLikeBcrypt(hash.Scalar())) {
          reader.Fail(hash.Mark(), "the password of " + Quoted(name.Scalar()) + " must be a bcrypt hash ($2y$...)");
          continue;
        }
        config.basic_auth_users[name.Scalar()] = hash.Scalar();
      }
    }
  }
  if (reader.HasErrors()) return Error(ErrorKind::kInvalidArgument, reader.JoinedErrors());
  return config;
}

}  // namespace

Result<WebConfig> ParseWebConfig(std::string_view text, const std::string& source) {
  return ParseOnLargeStack<WebConfig>(source, [&] { return ParseWebConfigOnThisThread(text, source); });
}

Result<WebConfig> LoadWebConfigFile(const std::string& path) {
  Result<std::string> text = ReadFileCapped(path, 1 << 20);
  if (!text.ok()) return text.error();
  return ParseWebConfig(*text, path);
}

}  // namespace ief
