#include "poll/snapshot.h"

namespace ief {

std::string_view JobSourceName(JobSource source) {
  switch (source) {
    case JobSource::kConfig: return "config";
    case JobSource::kDiscovery: return "discovery";
  }
  return "unknown";
}

}  // namespace ief
