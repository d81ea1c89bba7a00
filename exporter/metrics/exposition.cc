#include "metrics/exposition.h"

#include <prometheus/text_serializer.h>

#include <sstream>

#include "util/log.h"

namespace ief {

TextPieces Exposition::RenderPieces() const {
  TextPieces out;
  try {
    if (store_ != nullptr) AppendSnapshotText(store_->Load(), out);
    std::vector<prometheus::MetricFamily> families;
    for (const prometheus::Collectable* source : sources_) {
      std::vector<prometheus::MetricFamily> collected = source->Collect();
      families.insert(families.end(), std::make_move_iterator(collected.begin()),
                      std::make_move_iterator(collected.end()));
    }
    std::ostringstream serialized;
    prometheus::TextSerializer().Serialize(serialized, families);
    out.AppendOwned(serialized.str());
  } catch (const std::exception& e) {
    log::Error("Rendering the metrics failed", {{"err", e.what()}});
  }
  return out;
}

}  // namespace ief
