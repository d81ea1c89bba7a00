// The one HTTP client of the exporter: libcurl (Debian's build: threaded resolver bounded by the timeout, IPv4 and
// IPv6, proxies and no_proxy from the environment, HTTP/2 over TLS when the server offers it, TLS verified against
// the system store), configured deliberately:
// - one easy handle per transport, reused, so its connections stay alive between requests;
// - http and https only, redirects never followed (a 3xx reaches the caller as an answer, and the token or
//   signature never travels to another host);
// - every exchange bounded by the request's timeout whatever the peer does, and aborted within a fraction of a
//   second when the request's Cancellation fires;
// - compressed answers decoded by libcurl; the decoded body capped per answer and, across all transports, by a
//   shared ResponseBudget.
#pragma once

#include <cstddef>

#include "upstream/http/http.h"

namespace ief {

struct CurlTransportOptions {
  Duration connect_timeout = std::chrono::seconds(5);  // capped by each request's timeout
  size_t max_body_bytes = 32 * 1024 * 1024;           // a real 10,000-task answer is about 4 MB
  ResponseBudget* budget = nullptr;                   // shared by all transports; must outlive them
};

// Not thread-safe: one per worker thread.
class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  CurlTransportOptions options_;
  void* handle_;  // CURL*, kept opaque so this header does not pull in curl.h
};

}  // namespace ief
