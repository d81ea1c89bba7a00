// libFuzzer target: ShowBatchJob answers and error bodies. Any input must parse or fail cleanly.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/job_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ief::JobParser parser;  // reused like a worker's parser, so stale state would show
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto job = parser.ParseShowBatchJob(body);
  if (job.ok() && job->job_id.empty()) __builtin_trap();  // the parser promises a job id
  (void)parser.ParseApiError(body);
  return 0;
}
