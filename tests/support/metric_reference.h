// docs/metrics.md against an exposition: the families the reference documents (name, type, label names) and the
// ones a text exposition shows, and where the two disagree.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ief::testing {

struct FamilyShape {
  std::string type;                           // gauge, counter, histogram (an exposition's "untyped" stays so)
  std::set<std::set<std::string>> label_sets;  // the label names of each kind of sample (histograms: without le)
};
using FamilyShapes = std::map<std::string, FamilyShape>;

// The families of docs/metrics.md's tables: one row each, with its one label set.
FamilyShapes DocumentedFamilies();

// The families of a Prometheus text exposition, from its # TYPE lines and its samples (a histogram's _bucket,
// _sum and _count samples belong to their family).
FamilyShapes ExposedFamilies(const std::string& exposition);

// One line for each exposed family the reference lacks, or documents with another type or other labels.
std::vector<std::string> UndocumentedShapes(const FamilyShapes& documented, const FamilyShapes& exposed);

}  // namespace ief::testing
