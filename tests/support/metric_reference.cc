#include "support/metric_reference.h"

#include <regex>
#include <sstream>

#include "support/fixtures.h"

namespace ief::testing {
namespace {

std::set<std::string> SplitLabels(const std::string& cell) {
  std::set<std::string> labels;
  std::regex name(R"([a-z_]+)");
  for (std::sregex_iterator it(cell.begin(), cell.end(), name), end; it != end; ++it) labels.insert(it->str());
  return labels;
}

std::string Join(const std::set<std::string>& labels) {
  std::string joined;
  for (const std::string& label : labels) joined += (joined.empty() ? "" : ",") + label;
  return "{" + joined + "}";
}

// The family a sample belongs to: its own name, or a histogram's name without the sample's suffix.
std::string FamilyOf(const std::string& sample, const FamilyShapes& families) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string_view name(sample);
    if (!name.ends_with(suffix)) continue;
    std::string base(name.substr(0, name.size() - std::char_traits<char>::length(suffix)));
    auto family = families.find(base);
    if (family != families.end() && family->second.type == "histogram") return base;
  }
  return sample;
}

}  // namespace

FamilyShapes DocumentedFamilies() {
  std::string reference = FileContent(std::string(IEF_SOURCE_DIR) + "/docs/metrics.md");
  FamilyShapes families;
  // | `name` | type | labels | meaning |
  std::regex row(R"(^\| `([a-z_]+)` \| ([a-z]+) \| ?([a-z_, ]*) \|)", std::regex::multiline);
  for (std::sregex_iterator it(reference.begin(), reference.end(), row), end; it != end; ++it) {
    families[(*it)[1]] = {.type = (*it)[2], .label_sets = {SplitLabels((*it)[3])}};
  }
  return families;
}

FamilyShapes ExposedFamilies(const std::string& exposition) {
  FamilyShapes families;
  std::regex type_line(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ([a-z]+)$)");
  std::regex sample_line(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? )");
  std::regex label_name(R"(([a-zA-Z_][a-zA-Z0-9_]*)=")");
  std::istringstream lines(exposition);
  std::smatch match;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, match, type_line)) {
      families[match[1]].type = match[2];
    } else if (!line.starts_with("#") && std::regex_search(line, match, sample_line)) {
      std::set<std::string> labels;
      std::string label_text = match[3];
      for (std::sregex_iterator it(label_text.begin(), label_text.end(), label_name), end; it != end; ++it) {
        labels.insert((*it)[1]);
      }
      labels.erase("le");
      families[FamilyOf(match[1], families)].label_sets.insert(labels);
    }
  }
  return families;
}

std::vector<std::string> UndocumentedShapes(const FamilyShapes& documented, const FamilyShapes& exposed) {
  std::vector<std::string> problems;
  for (const auto& [name, shape] : exposed) {
    auto reference = documented.find(name);
    if (reference == documented.end()) {
      problems.push_back(name + " (" + shape.type + ") is not in docs/metrics.md");
      continue;
    }
    if (shape.type != reference->second.type) {
      problems.push_back(name + " is a " + shape.type + ", docs/metrics.md says " + reference->second.type);
    }
    const std::set<std::string>& labels = *reference->second.label_sets.begin();
    for (const std::set<std::string>& sample_labels : shape.label_sets) {
      if (sample_labels != labels) {
        problems.push_back(name + " has labels " + Join(sample_labels) + ", docs/metrics.md says " + Join(labels));
      }
    }
  }
  return problems;
}

}  // namespace ief::testing
