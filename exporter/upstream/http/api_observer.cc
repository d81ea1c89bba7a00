#include "upstream/http/api_observer.h"

namespace ief {

std::string_view OperationName(ApiOperation op) {
  switch (op) {
    case ApiOperation::kShowJob: return "show_job";
    case ApiOperation::kListJobs: return "list_jobs";
    case ApiOperation::kIamToken: return "iam_token";
  }
  return "unknown";
}

}  // namespace ief
