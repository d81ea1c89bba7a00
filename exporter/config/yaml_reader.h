// Strict YAML reading shared by the config files (the exporter config, the web config): typed look-ups that
// collect every error as "file:line:column: message" instead of stopping at the first.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <optional>
#include <set>
#include <type_traits>
#include <string>
#include <string_view>
#include <vector>

#include "util/duration.h"
#include "util/file.h"
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
  std::string Where(const YAML::Mark& mark) const {
    // yaml-cpp gives 0-based positions, or -1 for nodes it made up; report those at 1:1.
    return source_ + ":" + std::to_string(std::max(mark.line, 0) + 1) + ":" + std::to_string(std::max(mark.column, 0) + 1);
  }
  bool HasErrors() const { return !errors_.empty(); }
  std::string JoinedErrors() const {
    std::string out;
    for (const auto& e : errors_) out += (out.empty() ? "" : "\n") + e;
    return out;
  }

  // Checks that `node` is a map whose keys are all in `allowed` (any key when `any_keys`) and none repeats.
  bool CheckMap(const YAML::Node& node, std::string_view where, std::initializer_list<std::string_view> allowed,
                bool any_keys = false) {
    if (!node.IsMap()) {
      Fail(node.Mark(), std::string(where) + " must be a mapping");
      return false;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;  // a copy: the iterator hands out a temporary proxy
      if (!key.IsScalar()) {
        Fail(key.Mark(), "keys in " + std::string(where) + " must be plain strings");
        continue;
      }
      const std::string name = key.Scalar();
      if (!any_keys && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string hint = allowed.size() == 0 ? "none is supported" : "allowed: " + JoinAllowed(allowed);
        Fail(key.Mark(), "unknown key " + Quoted(name) + " in " + std::string(where) + " (" + hint + ")");
      } else if (!seen.insert(name).second) {
        Fail(key.Mark(), "duplicate key " + Quoted(name) + " in " + std::string(where));
      }
    }
    return true;
  }

  // Value lookup. yaml-cpp returns the first of duplicate keys; duplicates are reported by CheckMap.
  static YAML::Node Child(const YAML::Node& map, std::string_view key) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

  static YAML::Mark KeyMark(const YAML::Node& map, std::string_view key) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->first.Mark();
    }
    return map.Mark();
  }

  std::optional<std::string> String(const YAML::Node& map, std::string_view key, bool required) {
    YAML::Node value = Child(map, key);
    if (!Present(map, value, key, required)) return std::nullopt;
    if (!value.IsScalar()) return TypeError(value, key, "a string");
    return value.Scalar();
  }

  std::optional<long long> Integer(const YAML::Node& map, std::string_view key, long long min, long long max) {
    YAML::Node value = Child(map, key);
    if (!Present(map, value, key, false)) return std::nullopt;
    if (!IsUnquotedScalar(value)) return TypeError(value, key, "an integer");
    const std::string& text = value.Scalar();
    long long parsed = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec != std::errc() || end != text.data() + text.size()) return TypeError(value, key, "an integer");
    return InRange(value, key, parsed, min, max);
  }

  std::optional<double> Number(const YAML::Node& map, std::string_view key, double min, double max) {
    YAML::Node value = Child(map, key);
    if (!Present(map, value, key, false)) return std::nullopt;
    if (!IsUnquotedScalar(value)) return TypeError(value, key, "a number");
    const std::string& text = value.Scalar();
    double parsed = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(parsed)) {
      return TypeError(value, key, "a number");
    }
    return InRange(value, key, parsed, min, max);
  }

  std::optional<bool> Bool(const YAML::Node& map, std::string_view key) {
    YAML::Node value = Child(map, key);
    if (!Present(map, value, key, false)) return std::nullopt;
    if (IsUnquotedScalar(value)) {
      // Only YAML 1.2 booleans: yaml-cpp would also take yes/no/on/off, a classic source of surprises.
      const std::string& text = value.Scalar();
      if (text == "true" || text == "True" || text == "TRUE") return true;
      if (text == "false" || text == "False" || text == "FALSE") return false;
    }
    return TypeError(value, key, "true or false");
  }

  std::optional<Duration> DurationValue(const YAML::Node& map, std::string_view key, Duration min) {
    YAML::Node value = Child(map, key);
    if (!Present(map, value, key, false)) return std::nullopt;
    if (!value.IsScalar()) return TypeError(value, key, "a duration such as 30s or 5m");
    Result<Duration> parsed = ParseDuration(value.Scalar());
    if (!parsed.ok()) {
      Fail(value.Mark(), std::string(key) + ": " + parsed.error().message);
      return std::nullopt;
    }
    if (*parsed < min) {
      Fail(value.Mark(), std::string(key) + " must be at least " + FormatDuration(min));
      return std::nullopt;
    }
    return *parsed;
  }

  std::optional<std::vector<std::string>> StringList(const YAML::Node& map, std::string_view key) {
    YAML::Node value = Child(map, key);
    if (!Present(map, value, key, false)) return std::nullopt;
    if (!value.IsSequence()) return TypeError(value, key, "a list of strings");
    std::vector<std::string> items;
    for (const YAML::Node& item : value) {
      if (!item.IsScalar()) {
        Fail(item.Mark(), "items of " + std::string(key) + " must be strings");
        continue;
      }
      items.push_back(item.Scalar());
    }
    return items;
  }

  // Reports a secret file that cannot be read, at the position of its path. It is read exactly as the
  // authenticators will read it (ReadFileCapped: a regular file within the secret cap), so the check, a start and
  // a reload all agree; the content is dropped at once and never reported.
  void CheckReadableFile(const YAML::Node& map, std::string_view key, const std::string& path) {
    if (path.empty()) {
      Fail(Child(map, key).Mark(), std::string(key) + " must not be empty");
      return;
    }
    Result<std::string> content = ReadFileCapped(path, kMaxSecretFileBytes);
    if (!content.ok()) Fail(Child(map, key).Mark(), std::string(key) + ": " + content.error().message);
  }

 private:
  static bool IsUnquotedScalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() != "!"; }

  static std::string JoinAllowed(std::initializer_list<std::string_view> allowed) {
    std::string out;
    for (auto a : allowed) out += (out.empty() ? "" : ", ") + std::string(a);
    return out;
  }

  bool Present(const YAML::Node& map, const YAML::Node& value, std::string_view key, bool required) {
    if (value.IsDefined() && !value.IsNull()) return true;
    if (value.IsDefined()) {
      // A null value's own mark points past it, at the next token: report at the key instead.
      Fail(KeyMark(map, key), std::string(key) + " has no value");
    } else if (required) {
      Fail(map.Mark(), "missing required key " + Quoted(key));
    }
    return false;
  }

  std::nullopt_t TypeError(const YAML::Node& value, std::string_view key, std::string_view expected) {
    Fail(value.Mark(), std::string(key) + " must be " + std::string(expected));
    return std::nullopt;
  }

  template <typename T>
  std::optional<T> InRange(const YAML::Node& value, std::string_view key, T parsed, T min, T max) {
    if (parsed < min || parsed > max) {
      std::string bounds = std::to_string(min) + " and " + std::to_string(max);
      if constexpr (std::is_floating_point_v<T>) bounds = FormatNumber(min) + " and " + FormatNumber(max);
      Fail(value.Mark(), std::string(key) + " must be between " + bounds);
      return std::nullopt;
    }
    return parsed;
  }

  static std::string FormatNumber(double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", d);
    return buf;
  }

  std::string source_;
  std::vector<std::string> errors_;
};

// A secret (or any text) given either inline under `inline_key` or as a file under `file_key`: at most one of them,
// and one when `required`; a file must be readable. A relative file path is taken from `base_dir` when given
// (the web config's paths are relative to the web config, as in exporter-toolkit) and stored joined with it.
void ReadSecretPair(ConfigReader& r, const YAML::Node& node, std::string_view inline_key, std::string_view file_key,
                    std::string& inline_value, std::string& file_value, bool required,
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
