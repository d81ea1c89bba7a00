#include "config/yaml_reader.h"

#include <yaml-cpp/depthguard.h>

#include <filesystem>

namespace ief {

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
                    std::string& inline_value, std::string& file_value, bool required, const std::string& base_dir) {
  auto inline_v = r.String(node, inline_key, false);
  auto file_v = r.String(node, file_key, false);
  if (inline_v && file_v) {
    r.Fail(ConfigReader::Child(node, file_key).Mark(),
           "give either " + std::string(inline_key) + " or " + std::string(file_key) + ", not both");
    return;
  }
  if (!inline_v && !file_v && required && !ConfigReader::Child(node, inline_key).IsDefined() &&
      !ConfigReader::Child(node, file_key).IsDefined()) {
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
