// A raw TCP client on loopback for tests that play a hostile or careless HTTP client: connections that say
// nothing, request heads sent a byte at a time, requests written by hand and answers read by hand.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ief::testing {

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
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

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

  int fd_ = -1;
  std::string buffer_;
};

// Sends `request` on a new connection and reads the response within `timeout`; `seconds` counts from before the
// connection was made.
struct TimedExchange {
  std::optional<RawResponse> response;
  double seconds = 0;
};
TimedExchange Exchange(int port, const std::string& request, std::chrono::milliseconds timeout);

// "GET path HTTP/1.1" with a Host header and, when given, an Authorization header.
std::string GetRequest(const std::string& path, const std::string& authorization = "");

// "Basic " + base64 of `user_and_password` ("user:password").
std::string BasicAuthorization(std::string_view user_and_password);

}  // namespace ief::testing
