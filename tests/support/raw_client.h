// A raw TCP client on loopback for tests that play a hostile or careless HTTP client: connections that say
// nothing, request heads sent a byte at a time, requests written by hand and answers read by hand; over TLS
// (OpenSSL) too, including clients that stop in the middle of the handshake.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

struct ssl_st;

namespace ief::testing {

// A TLS client's side of the handshake.
struct TlsClientOptions {
  std::string ca_file;    // the CA it trusts; empty: it checks nothing
  std::string cert_file;  // a client certificate and its key, when given
  std::string key_file;
  int max_version = 0;  // TLS1_2_VERSION, TLS1_3_VERSION; 0: OpenSSL's newest
  // Send the ClientHello and stop there, as a client stalled in the middle of the handshake (the connection then
  // stays open, raw).
  bool stall_after_hello = false;
};

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers, without the blank line
  std::string body;
  // The value of header `name` (as the server spelled it), or "".
  std::string Header(const std::string& name) const;
};

class RawConnection {
 public:
  explicit RawConnection(int port);  // connects to 127.0.0.1:port
  RawConnection(int port, const TlsClientOptions& tls);  // the same, then a TLS handshake (or its first step)
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Connected and, with TLS, the handshake done (or the hello sent, when stalling).
  bool connected() const { return fd_ >= 0; }
  // False when the connection is gone (or never was).
  bool Send(std::string_view bytes);
  // One HTTP/1.1 response (its body by Content-Length); nullopt when the connection closes or `timeout` passes
  // first.
  std::optional<RawResponse> ReadResponse(std::chrono::milliseconds timeout);
  // Its status alone.
  std::optional<int> ReadResponseStatus(std::chrono::milliseconds timeout);
  // Waits for the peer to close the connection, dropping whatever arrives; the seconds it took, or nullopt when
  // the connection is still open after `timeout`.
  std::optional<double> SecondsUntilClosed(std::chrono::milliseconds timeout);

 private:
  // Appends what arrives within `deadline` to buffer_; false on close, error or timeout.
  bool Receive(std::chrono::steady_clock::time_point deadline);

  void Close();

  int fd_ = -1;
  ssl_st* ssl_ = nullptr;  // set once a TLS handshake has finished
  std::string buffer_;
};

// Sends `request` on a new connection and reads the response within `timeout`; `seconds` counts from before the
// connection was made.
struct TimedExchange {
  std::optional<RawResponse> response;
  double seconds = 0;
};
TimedExchange Exchange(int port, const std::string& request, std::chrono::milliseconds timeout);
// The same over TLS (the handshake counts in `seconds`).
TimedExchange Exchange(int port, const std::string& request, std::chrono::milliseconds timeout,
                       const TlsClientOptions& tls);

// True when this machine can connect to a socket on [::1] (the IPv6 tests need it and fail when it is missing).
bool Ipv6LoopbackWorks();

// "GET path HTTP/1.1" with a Host header and, when given, an Authorization header.
std::string GetRequest(const std::string& path, const std::string& authorization = "");

// "Basic " + base64 of `user_and_password` ("user:password").
std::string BasicAuthorization(std::string_view user_and_password);

}  // namespace ief::testing
