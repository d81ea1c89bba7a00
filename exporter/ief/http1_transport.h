// The builtin HTTP/1.1 client: one kept-alive connection (plain TCP or TLS through OpenSSL) per transport, so per
// worker thread. Polling a tenant flat out is mostly per-request overhead; this client spends one send and
// usually one receive system call on a request, where libcurl's easy interface adds three poll calls and its
// option and header bookkeeping (measured in docs/performance.md). It does not speak to proxies:
// MakeHttpTransport hands out CurlTransport when the environment names one. Like any program writing to sockets
// through OpenSSL, the process must ignore SIGPIPE (ief_exporter does, at start).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ief/http.h"
#include "ief/http1_parser.h"

namespace ief {

class Http1Transport : public HttpTransport {
 public:
  explicit Http1Transport(HttpTransportOptions options);
  ~Http1Transport() override;
  Http1Transport(const Http1Transport&) = delete;
  Http1Transport& operator=(const Http1Transport&) = delete;

  HttpResponse Send(const HttpRequest& request) override;

  struct Connection;  // a socket and, for https, its TLS session
  struct Target;      // where a URL points: scheme, host, port, path

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  std::unique_ptr<Connection> Connect(const Target& target, TimePoint deadline, std::string& error);
  bool StartTls(Connection& connection, const Target& target, TimePoint deadline, std::string& error);
  // Sends request_bytes_ on connection_ and reads the answer into `response`. On failure, `stale` says whether
  // the connection was dropped before any byte of an answer came (a kept-alive connection the server closed).
  bool Exchange(TimePoint deadline, HttpResponse& response, bool& stale);

  HttpTransportOptions options_;
  std::unique_ptr<Connection> connection_;
  Http1ResponseParser parser_;
  std::string request_bytes_;  // reused: the serialized request
  std::vector<char> receive_buffer_;
};

}  // namespace ief
