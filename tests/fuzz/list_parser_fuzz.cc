// libFuzzer target: ListBatchJob pages.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/job_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ief::JobParser parser;
  auto list = parser.ParseListBatchJob(std::string_view(reinterpret_cast<const char*>(data), size));
  if (list.ok()) {
    for (const auto& job : list->jobs) {
      if (job.has_tasks && !job.tasks.empty() && job.tasks.size() > size) __builtin_trap();
    }
  }
  return 0;
}
