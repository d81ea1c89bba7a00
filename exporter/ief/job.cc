#include "ief/job.h"

namespace ief {

std::string BatchTarget::NodeName() const {
  for (const ExtensionInfo& info : extension_info) {
    if (info.key == "node_name") return info.value;
  }
  return "";
}

bool IsFinishedStatus(const std::string& status) {
  return status == "Successful" || status == "Partially_successful" || status == "Failed" ||
         status == "Stopped" || status == "Timed_out";
}

}  // namespace ief
