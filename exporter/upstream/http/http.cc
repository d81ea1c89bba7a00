#include "upstream/http/http.h"

#include <array>
#include <utility>

#include "util/text.h"

namespace ief {
namespace {

constexpr std::array<std::pair<HttpMethod, const char*>, 4> kMethodNames = {{
    {HttpMethod::kGet, "GET"},
    {HttpMethod::kPost, "POST"},
    {HttpMethod::kPut, "PUT"},
    {HttpMethod::kDelete, "DELETE"},
}};

}  // namespace

const char* MethodName(HttpMethod method) {
  for (const auto& [known, name] : kMethodNames) {
    if (known == method) return name;
  }
  return "GET";  // unreachable: every method has a name
}

std::optional<HttpMethod> ParseHttpMethod(std::string_view name) {
  for (const auto& [method, known] : kMethodNames) {
    if (name == known) return method;
  }
  return std::nullopt;
}

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
