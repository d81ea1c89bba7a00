#include "metrics/exposition.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace ief {

std::string Exposition::Render() const {
  std::vector<prometheus::MetricFamily> families;
  for (const prometheus::Collectable* source : sources_) {
    std::vector<prometheus::MetricFamily> collected = source->Collect();
    families.insert(families.end(), std::make_move_iterator(collected.begin()),
                    std::make_move_iterator(collected.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace ief
