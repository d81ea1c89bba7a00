// Collects every registered source of metrics and renders the Prometheus text exposition.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

namespace ief {

class Exposition {
 public:
  // Sources are rendered in the order they were added. They must outlive the Exposition.
  void Add(const prometheus::Collectable* source) { sources_.push_back(source); }
  std::string Render() const;

 private:
  std::vector<const prometheus::Collectable*> sources_;
};

}  // namespace ief
