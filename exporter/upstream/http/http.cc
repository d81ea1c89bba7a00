#include "upstream/http/http.h"

#include "util/text.h"

namespace ief {

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [header, value] : headers) {
    if (EqualsIgnoringCase(header, name)) return value;
  }
  return {};
}

void KeepResponseHeader(std::string_view name, std::string_view value, HttpResponse& response) {
  if (EqualsIgnoringCase(name, "x-request-id")) {
    response.request_id = TruncateUtf8(value, 128);  // it goes to the logs: a hostile one must stay short
  } else if (EqualsIgnoringCase(name, "retry-after")) {
    response.retry_after = TruncateUtf8(value, 64);
  } else if (EqualsIgnoringCase(name, "x-subject-token")) {
    response.subject_token = value;
  }
}

}  // namespace ief
