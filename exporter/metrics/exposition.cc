#include "metrics/exposition.h"

#include <prometheus/text_serializer.h>

#include <sstream>

#include "metrics/job_text.h"
#include "util/log.h"

namespace ief {

std::string Exposition::Render() const {
  std::string out;
  try {
    if (store_ != nullptr) out = RenderSnapshot(*store_->Load());
    std::vector<prometheus::MetricFamily> families;
    for (const prometheus::Collectable* source : sources_) {
      std::vector<prometheus::MetricFamily> collected = source->Collect();
      families.insert(families.end(), std::make_move_iterator(collected.begin()),
                      std::make_move_iterator(collected.end()));
    }
    std::ostringstream serialized;
    prometheus::TextSerializer().Serialize(serialized, families);
    out += serialized.str();
  } catch (const std::exception& e) {
    log::Error("Rendering the metrics failed", {{"err", e.what()}});
  }
  return out;
}

}  // namespace ief
