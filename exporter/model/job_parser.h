// Parses IEF batch-job responses (ShowBatchJob, ListBatchJob, error bodies) into the job model.
// Lenient where the API is loose (absent or null fields, unknown fields), strict where data would be wrong
// (a field of the wrong type, a document that is not JSON): those are errors, never guesses.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/job.h"
#include "util/result.h"

namespace ief {

struct BatchJobList {
  std::optional<int64_t> job_count;  // total over all pages
  std::vector<BatchJob> jobs;        // this page (no tasks/targets in list items)
};

struct ApiErrorBody {
  std::string error_code;
  std::string error_msg;
};

// Not thread-safe: keep one per thread. Reusing it reuses the JSON parser's buffers.
class JobParser {
 public:
  JobParser();
  ~JobParser();
  JobParser(const JobParser&) = delete;
  JobParser& operator=(const JobParser&) = delete;

  Result<BatchJob> ParseShowBatchJob(std::string_view body);
  Result<BatchJobList> ParseListBatchJob(std::string_view body);
  // The {error_code, error_msg} of an error answer; nullopt when the body has neither.
  std::optional<ApiErrorBody> ParseApiError(std::string_view body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ief
