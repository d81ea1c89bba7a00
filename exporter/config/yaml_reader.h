// Strict YAML reading shared by the config files (the exporter config, the web config): typed look-ups that
// collect every error as "file:line:column: message" instead of stopping at the first.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/duration.h"
#include "util/large_stack.h"
#include "util/result.h"

namespace ief {

std::string Quoted(std::string_view s);

// Walks the YAML tree and collects every error with its position. Positions are 1-based.
class ConfigReader {
 public:
  explicit ConfigReader(std::string source) : source_(std::move(source)) {}

  void Fail(const YAML::Mark& mark, const std::string& message) { errors_.push_back(Where(mark) + ": " + message); }
  // "file:line:column" of a position, for errors found after the file was read (a certificate that fails to load).
  std::string Where(const YAML::Mark& mark) const;
  bool HasErrors() const { return !errors_.empty(); }
  std::string JoinedErrors() const;

  // Which keys a mapping may hold.
  enum class Keys {
    kListed,  // only the ones named in `allowed`
    kAny,     // any key (a map of user-chosen names, such as HTTP headers)
  };
  // Checks that `node` is a map whose keys are all allowed and none repeats; false when it is not a map.
  bool CheckMap(const YAML::Node& node, std::string_view where, std::initializer_list<std::string_view> allowed,
                Keys keys = Keys::kListed);

  // Value lookup. yaml-cpp returns the first of duplicate keys; duplicates are reported by CheckMap.
  static YAML::Node Child(const YAML::Node& map, std::string_view key);
  static YAML::Mark KeyMark(const YAML::Node& map, std::string_view key);

  // Whether a key may be left out.
  enum class Presence { kOptional, kRequired };
  // Typed values: nullopt when the key is absent (an error too when it is required) or its value is wrong.
  std::optional<std::string> String(const YAML::Node& map, std::string_view key, Presence presence);
  std::optional<long long> Integer(const YAML::Node& map, std::string_view key, long long min, long long max);
  std::optional<double> Number(const YAML::Node& map, std::string_view key, double min, double max);
  std::optional<bool> Bool(const YAML::Node& map, std::string_view key);
  std::optional<Duration> DurationValue(const YAML::Node& map, std::string_view key, Duration min);
  std::optional<std::vector<std::string>> StringList(const YAML::Node& map, std::string_view key);

  // Reports a secret file that cannot be read, at the position of its path. It is read exactly as the
  // authenticators will read it (ReadFileCapped: a regular file within the secret cap), so the check, a start and
  // a reload all agree; the content is dropped at once and never reported.
  void CheckReadableFile(const YAML::Node& map, std::string_view key, const std::string& path);

 private:
  bool Present(const YAML::Node& map, const YAML::Node& value, std::string_view key, Presence presence);
  std::nullopt_t TypeError(const YAML::Node& value, std::string_view key, std::string_view expected);
  template <typename T>
  std::optional<T> InRange(const YAML::Node& value, std::string_view key, T parsed, T min, T max);

  std::string source_;
  std::vector<std::string> errors_;
};

// A secret (or any text) given either inline under `inline_key` or as a file under `file_key`: at most one of them,
// and one when it is required; a file must be readable. A relative file path is taken from `base_dir` when given
// (the web config's paths are relative to the web config, as in exporter-toolkit) and stored joined with it.
void ReadSecretPair(ConfigReader& r, const YAML::Node& node, std::string_view inline_key, std::string_view file_key,
                    std::string& inline_value, std::string& file_value, ConfigReader::Presence presence,
                    const std::string& base_dir = "");

// Reports the first tab character: YAML forbids tabs for indentation and they hide alignment mistakes.
void CheckNoTabs(ConfigReader& reader, std::string_view text);

// Parses `text` into `root`, reporting tabs, syntax errors and nesting deeper than yaml-cpp's limit; false when it
// cannot be read at all.
bool LoadYaml(ConfigReader& reader, std::string_view text, YAML::Node& root);

// Runs a whole config parse (the YAML tree, the checks, the tree's destruction) on a thread with a large stack,
// so it is safe at any nesting whichever thread asks for it: a CivetWeb worker (POST /-/reload) has only 100 KiB.
template <typename T>
Result<T> ParseOnLargeStack(const std::string& source, const std::function<Result<T>()>& parse) {
  std::optional<Result<T>> parsed;
  Status ran = RunWithStack(kLargeStackBytes, [&] { parsed.emplace(parse()); });
  if (!ran.ok()) return Error(ErrorKind::kIo, "cannot read " + source + ": " + ran.error().message);
  return std::move(*parsed);
}

}  // namespace ief
