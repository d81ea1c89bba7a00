#include "config/yaml_reader.h"

#include <yaml-cpp/depthguard.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <type_traits>

#include "util/file.h"

namespace ief {
namespace {

bool IsUnquotedScalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() != "!"; }

std::string JoinAllowed(std::initializer_list<std::string_view> allowed) {
  std::string out;
  for (auto a : allowed) out += (out.empty() ? "" : ", ") + std::string(a);
  return out;
}

std::string FormatNumber(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

}  // namespace

std::string ConfigReader::Where(const YAML::Mark& mark) const {
  // yaml-cpp gives 0-based positions, or -1 for nodes it made up; report those at 1:1.
  return source_ + ":" + std::to_string(std::max(mark.line, 0) + 1) + ":" + std::to_string(std::max(mark.column, 0) + 1);
}

std::string ConfigReader::JoinedErrors() const {
  std::string out;
  for (const auto& e : errors_) out += (out.empty() ? "" : "\n") + e;
  return out;
}

bool ConfigReader::CheckMap(const YAML::Node& node, std::string_view where,
                            std::initializer_list<std::string_view> allowed, Keys keys) {
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
    if (keys == Keys::kListed && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string hint = allowed.size() == 0 ? "none is supported" : "allowed: " + JoinAllowed(allowed);
      Fail(key.Mark(), "unknown key " + Quoted(name) + " in " + std::string(where) + " (" + hint + ")");
    } else if (!seen.insert(name).second) {
      Fail(key.Mark(), "duplicate key " + Quoted(name) + " in " + std::string(where));
    }
  }
  return true;
}

YAML::Node ConfigReader::Child(const YAML::Node& map, std::string_view key) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Mark ConfigReader::KeyMark(const YAML::Node& map, std::string_view key) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->first.Mark();
  }
  return map.Mark();
}

std::optional<std::string> ConfigReader::String(const YAML::Node& map, std::string_view key, Presence presence) {
  YAML::Node value = Child(map, key);
  if (!Present(map, value, key, presence)) return std::nullopt;
  if (!value.IsScalar()) return TypeError(value, key, "a string");
  return value.Scalar();
}

std::optional<long long> ConfigReader::Integer(const YAML::Node& map, std::string_view key, long long min,
                                               long long max) {
  YAML::Node value = Child(map, key);
  if (!Present(map, value, key, Presence::kOptional)) return std::nullopt;
  if (!IsUnquotedScalar(value)) return TypeError(value, key, "an integer");
  const std::string& text = value.Scalar();
  long long parsed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (ec != std::errc() || end != text.data() + text.size()) return TypeError(value, key, "an integer");
  return InRange(value, key, parsed, min, max);
}

std::optional<double> ConfigReader::Number(const YAML::Node& map, std::string_view key, double min, double max) {
  YAML::Node value = Child(map, key);
  if (!Present(map, value, key, Presence::kOptional)) return std::nullopt;
  if (!IsUnquotedScalar(value)) return TypeError(value, key, "a number");
  const std::string& text = value.Scalar();
  double parsed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(parsed)) {
    return TypeError(value, key, "a number");
  }
  return InRange(value, key, parsed, min, max);
}

std::optional<bool> ConfigReader::Bool(const YAML::Node& map, std::string_view key) {
  YAML::Node value = Child(map, key);
  if (!Present(map, value, key, Presence::kOptional)) return std::nullopt;
  if (IsUnquotedScalar(value)) {
    // Only YAML 1.2 booleans: yaml-cpp would also take yes/no/on/off, a classic source of surprises.
    const std::string& text = value.Scalar();
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  return TypeError(value, key, "true or false");
}

std::optional<Duration> ConfigReader::DurationValue(const YAML::Node& map, std::string_view key, Duration min) {
  YAML::Node value = Child(map, key);
  if (!Present(map, value, key, Presence::kOptional)) return std::nullopt;
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

std::optional<std::vector<std::string>> ConfigReader::StringList(const YAML::Node& map, std::string_view key) {
  YAML::Node value = Child(map, key);
  if (!Present(map, value, key, Presence::kOptional)) return std::nullopt;
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

void ConfigReader::CheckReadableFile(const YAML::Node& map, std::string_view key, const std::string& path) {
  if (path.empty()) {
    Fail(Child(map, key).Mark(), std::string(key) + " must not be empty");
    return;
  }
  Result<std::string> content = ReadFileCapped(path, kMaxSecretFileBytes);
  if (!content.ok()) Fail(Child(map, key).Mark(), std::string(key) + ": " + content.error().message);
}

bool ConfigReader::Present(const YAML::Node& map, const YAML::Node& value, std::string_view key,
                           Presence presence) {
  if (value.IsDefined() && !value.IsNull()) return true;
  if (value.IsDefined()) {
    // A null value's own mark points past it, at the next token: report at the key instead.
    Fail(KeyMark(map, key), std::string(key) + " has no value");
  } else if (presence == Presence::kRequired) {
    Fail(map.Mark(), "missing required key " + Quoted(key));
  }
  return false;
}

std::nullopt_t ConfigReader::TypeError(const YAML::Node& value, std::string_view key, std::string_view expected) {
  Fail(value.Mark(), std::string(key) + " must be " + std::string(expected));
  return std::nullopt;
}

template <typename T>
std::optional<T> ConfigReader::InRange(const YAML::Node& value, std::string_view key, T parsed, T min, T max) {
  if (parsed < min || parsed > max) {
    std::string bounds = std::to_string(min) + " and " + std::to_string(max);
    if constexpr (std::is_floating_point_v<T>) bounds = FormatNumber(min) + " and " + FormatNumber(max);
    Fail(value.Mark(), std::string(key) + " must be between " + bounds);
    return std::nullopt;
  }
  return parsed;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

void CheckNoTabs(ConfigReader& reader, std::string_view text) {
  size_t line = 0, column = 0;
  for (char c : text) {
    if (c == '\t') {
      YAML::Mark mark;
      mark.line = static_cast<int>(line);
      mark.column = static_cast<int>(column);
      reader.Fail(mark, "tab character: indent with spaces");
      return;  // one report is enough; the rest are usually the same mistake
    }
    if (c == '\n') {
      ++line;
      column = 0;
    } else {
      ++column;
    }
  }
}

void ReadSecretPair(ConfigReader& r, const YAML::Node& node, std::string_view inline_key, std::string_view file_key,
                    std::string& inline_value, std::string& file_value, ConfigReader::Presence presence,
                    const std::string& base_dir) {
  auto inline_v = r.String(node, inline_key, ConfigReader::Presence::kOptional);
  auto file_v = r.String(node, file_key, ConfigReader::Presence::kOptional);
  if (inline_v && file_v) {
    r.Fail(ConfigReader::Child(node, file_key).Mark(),
           "give either " + std::string(inline_key) + " or " + std::string(file_key) + ", not both");
    return;
  }
  bool neither_given =
      !ConfigReader::Child(node, inline_key).IsDefined() && !ConfigReader::Child(node, file_key).IsDefined();
  if (neither_given && presence == ConfigReader::Presence::kRequired) {
    r.Fail(node.Mark(), "missing " + std::string(inline_key) + " or " + std::string(file_key));
    return;
  }
  if (inline_v) {
    if (inline_v->empty()) r.Fail(ConfigReader::Child(node, inline_key).Mark(), std::string(inline_key) + " is empty");
    inline_value = *inline_v;
  }
  if (file_v) {
    std::string path = *file_v;
    if (!base_dir.empty() && !path.empty() && !path.starts_with('/')) {
      path = (std::filesystem::path(base_dir) / path).lexically_normal().string();
    }
    r.CheckReadableFile(node, file_key, path);
    file_value = path;
  }
}

bool LoadYaml(ConfigReader& reader, std::string_view text, YAML::Node& root) {
  CheckNoTabs(reader, text);
  if (reader.HasErrors()) return false;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard (its message is just "bad file"); a config needs fewer than ten levels.
    reader.Fail(e.mark, "nested too deeply: the YAML parser stops at depth " + std::to_string(e.depth()));
    return false;
  } catch (const YAML::Exception& e) {
    reader.Fail(e.mark, "YAML syntax error: " + e.msg);
    return false;
  }
  if (!root.IsDefined() || root.IsNull()) {
    reader.Fail(YAML::Mark(), "the file is empty");
    return false;
  }
  return true;
}

}  // namespace ief
