// The shipped alert rules against the shipped runbook: every alert links to its own section of docs/alerts.md as
// the Debian package installs it, so the link an on-call engineer follows leads to a file they have.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <regex>
#include <set>
#include <string>

#include "support/fixtures.h"

namespace {

constexpr const char* kRunbookUrl = "file:///usr/share/doc/ief-exporter/alerts.md";

std::string Lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// The anchors of docs/alerts.md's "## Name" headings, as Markdown renderers make them (lowercased).
std::set<std::string> RunbookSections() {
  std::string runbook = ief::testing::FileContent(std::string(IEF_SOURCE_DIR) + "/docs/alerts.md");
  std::set<std::string> anchors;
  std::regex heading(R"(^## (\w+)$)", std::regex::multiline);
  for (std::sregex_iterator it(runbook.begin(), runbook.end(), heading), end; it != end; ++it) {
    anchors.insert(Lowercase((*it)[1]));
  }
  return anchors;
}

}  // namespace

TEST_CASE("every shipped alert links to its section of the packaged runbook") {
  std::set<std::string> sections = RunbookSections();
  REQUIRE_FALSE(sections.empty());
  YAML::Node rules = YAML::LoadFile(std::string(IEF_SOURCE_DIR) + "/config/prometheus/rules/ief_alerts.yml");
  int alerts = 0;
  for (const YAML::Node& group : rules["groups"]) {
    for (const YAML::Node& rule : group["rules"]) {
      if (!rule["alert"]) continue;
      std::string alert = rule["alert"].as<std::string>();
      INFO(alert);
      std::string anchor = Lowercase(alert);
      CHECK(rule["annotations"]["runbook_url"].as<std::string>("") == std::string(kRunbookUrl) + "#" + anchor);
      CHECK(sections.count(anchor) == 1);
      ++alerts;
    }
  }
  CHECK(alerts >= 9);
}
