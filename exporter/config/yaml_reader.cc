#include "config/yaml_reader.h"

#include <yaml-cpp/depthguard.h>

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
