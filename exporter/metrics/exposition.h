// Renders the whole Prometheus text exposition: the job and project metrics of the latest snapshot (mostly
// pre-rendered text, passed on as views), then the prometheus-cpp collectables (the exporter's own counters,
// process metrics).
#pragma once

#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "metrics/job_text.h"
#include "poll/snapshot.h"

namespace ief {

class Exposition {
 public:
  // The sources must outlive the Exposition.
  void SetSnapshotSource(const SnapshotStore* store) { store_ = store; }
  void Add(const prometheus::Collectable* source) { sources_.push_back(source); }
  // Never throws: a failing source is logged and left out.
  TextPieces RenderPieces() const;
  std::string Render() const { return RenderPieces().Flatten(); }

 private:
  const SnapshotStore* store_ = nullptr;
  std::vector<const prometheus::Collectable*> sources_;
};

}  // namespace ief
