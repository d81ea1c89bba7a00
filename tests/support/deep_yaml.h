// YAML nested as deep as asked, in the shapes a careless (or hostile) operator could write, for the tests that
// prove every config path refuses any depth cleanly.
#pragma once

#include <string>
#include <vector>

namespace ief::testing {

enum class Nesting {
  kFlowSequence,  // [[[...]]]
  kFlowMapping,   // {a: {a: ... b}}
  kBlockSequence, // - - - ... b (block style, one line)
  kBlockMapping,  // a:\n a:\n  a: ... (block style, one more space per level: quadratic in size)
};

inline const std::vector<Nesting> kAllNestings = {Nesting::kFlowSequence, Nesting::kFlowMapping,
                                                   Nesting::kBlockSequence, Nesting::kBlockMapping};

inline const char* NestingName(Nesting nesting) {
  switch (nesting) {
    case Nesting::kFlowSequence: return "flow sequence";
    case Nesting::kFlowMapping: return "flow mapping";
    case Nesting::kBlockSequence: return "block sequence";
    case Nesting::kBlockMapping: return "block mapping";
  }
  return "?";
}

// A config whose `global:` holds a value nested `levels` deep, followed by a valid project.
inline std::string DeeplyNestedConfig(Nesting nesting, int levels) {
  const auto n = static_cast<size_t>(levels);
  std::string global;
  switch (nesting) {
    case Nesting::kFlowSequence: global = "global: " + std::string(n, '[') + std::string(n, ']') + "\n"; break;
    case Nesting::kFlowMapping: {
      std::string open;
      for (size_t i = 0; i < n; ++i) open += "{a: ";
      global = "global: " + open + "b" + std::string(n, '}') + "\n";
      break;
    }
    case Nesting::kBlockSequence: {
      std::string dashes;
      for (size_t i = 0; i < n; ++i) dashes += "- ";
      global = "global:\n  " + dashes + "b\n";
      break;
    }
    case Nesting::kBlockMapping:
      global = "global:\n";
      for (size_t i = 1; i <= n; ++i) global += std::string(i, ' ') + "a:\n";
      global += std::string(n + 1, ' ') + "b\n";
      break;
  }
  return global +
         "projects:\n  - project_id: p\n    endpoint: http://127.0.0.1:1\n    auth: {token: t}\n    jobs: [a]\n";
}

}  // namespace ief::testing
