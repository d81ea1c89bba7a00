// Renders the whole Prometheus text exposition: the job and project metrics of the latest snapshot (mostly
// pre-rendered text), then the prometheus-cpp collectables (the exporter's own counters, process metrics).
#pragma once

#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "poll/snapshot.h"

namespace ief {

class Exposition {
 public:
  // The sources must outlive the Exposition.
  void SetSnapshotSource(const SnapshotStore* store) { store_ = store; }
  void Add(const prometheus::Collectable* source) { sources_.push_back(source); }
  // Never throws: a failing source is logged and left out.
  std::string Render() const;

 private:
  const SnapshotStore* store_ = nullptr;
  std::vector<const prometheus::Collectable*> sources_;
};

}  // namespace ief
