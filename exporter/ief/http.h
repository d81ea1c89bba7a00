// HTTP as the IEF client sees it: an interface (so tests inject fakes, the LevelDB Env idea) and its libcurl
// implementation.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/cancellation.h"
#include "util/duration.h"

namespace ief {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  bool transport_ok = false;    // false: no HTTP answer (connect failure, timeout, oversized, TLS...)
  std::string transport_error;  // why, when !transport_ok
  long status = 0;
  std::string body;
  std::string request_id;   // X-Request-Id
  std::string retry_after;  // Retry-After, verbatim
  std::string subject_token;  // X-Subject-Token (IAM's answer carries the token here): a secret, never log it
  double seconds = 0;       // wall time of the exchange
};

// Stores a response header that HttpResponse keeps (X-Request-Id, Retry-After, X-Subject-Token; names are
// case-insensitive). Other headers are ignored. Both transports read headers through it.
void KeepResponseHeader(std::string_view name, std::string_view value, HttpResponse& response);

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResponse Send(const HttpRequest& request) = 0;
};

// Which client MakeHttpTransport builds (--upstream.http-client).
enum class HttpClientKind {
  kBuiltin,  // ief/http1_transport.h; libcurl instead when the environment names a proxy
  kCurl,     // libcurl, always
};

struct HttpTransportOptions {
  Duration connect_timeout = std::chrono::seconds(5);
  Duration total_timeout = std::chrono::seconds(10);
  size_t max_body_bytes = 64 * 1024 * 1024;
  const Cancellation* cancellation = nullptr;  // when set, a cancel aborts transfers in flight
  bool accept_compressed = true;               // ask for gzip/deflate answers
  HttpClientKind client = HttpClientKind::kBuiltin;
};

// The transport for upstream requests: the builtin HTTP/1.1 client (ief/http1_transport.h), or libcurl when
// options.client asks for it or the environment names a proxy (http_proxy, https_proxy, all_proxy, upper or lower
// case): libcurl honours those and no_proxy, the builtin client does not.
std::unique_ptr<HttpTransport> MakeHttpTransport(const HttpTransportOptions& options);
bool ProxyConfiguredInEnvironment();
// "builtin" or "curl": what MakeHttpTransport builds for `requested` in this environment (for the start-up log).
const char* EffectiveHttpClientName(HttpClientKind requested);

// One libcurl easy handle, reused so connections stay alive. Not thread-safe: one per worker thread.
class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(HttpTransportOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  HttpResponse Send(const HttpRequest& request) override;

 private:
  HttpTransportOptions options_;
  void* handle_;  // CURL*, kept opaque so this header does not pull in curl.h
};

}  // namespace ief
