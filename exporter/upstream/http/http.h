// HTTP as the upstream side sees it: a request, an answer, and the HttpTransport seam (the LevelDB Env idea), so
// tests can put a fake where libcurl talks to the network.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upstream/http/response_budget.h"
#include "util/cancellation.h"
#include "util/duration.h"
#include "util/result.h"

namespace ief {

// The methods this client sends: the IEF API is read with GET, IAM logins are POSTs, and the simulator's control
// API (tests, demos) also takes PUT and DELETE.
enum class HttpMethod : uint8_t { kGet, kPost, kPut, kDelete };
const char* MethodName(HttpMethod method);  // "GET", "POST"...
std::optional<HttpMethod> ParseHttpMethod(std::string_view name);  // the exact upper-case name; nullopt otherwise

struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Duration timeout = std::chrono::seconds(10);  // the whole exchange, whatever the peer does
  // When set, Cancel() aborts the exchange within a fraction of a second (shutdown, reload).
  const Cancellation* cancellation = nullptr;

  // The value of the first header named `name` (case-insensitive), or "" when absent.
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  long status = 0;
  std::string body;           // decoded (gzip, deflate...) by the transport
  std::string request_id;     // X-Request-Id
  std::string retry_after;    // Retry-After, verbatim
  std::string subject_token;  // X-Subject-Token (IAM's answer carries the token here): a secret, never log it
  BudgetReservation memory;   // the share of the response budget `body` holds; released with the response
};

// Stores a response header that HttpResponse keeps (X-Request-Id, Retry-After, X-Subject-Token; names are
// case-insensitive). Other headers are ignored.
void KeepResponseHeader(std::string_view name, std::string_view value, HttpResponse& response);

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends `request` and returns the answer, whatever its status. Errors: kTransport (no usable answer:
  // connection, TLS, timeout, a body over its cap or the shared budget) or kCancelled.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace ief
