// A bare TCP server on 127.0.0.1:0 for tests that need an HTTP peer misbehaving in ways a real server will not:
// dripping bytes, endless bodies, counted connections. Each request head (up to the blank line) is handed to
// the handler with the connection's socket; the handler writes whatever bytes it likes and says whether the
// connection stays open for another request.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace ief::testing {

class RawHttpServer {
 public:
  // Returns false to close the connection.
  using Handler = std::function<bool(int socket, const std::string& request_head)>;
  explicit RawHttpServer(Handler handler);
  ~RawHttpServer();  // closes the listener and every connection, joins the threads
  RawHttpServer(const RawHttpServer&) = delete;
  RawHttpServer& operator=(const RawHttpServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int connections() const { return connections_; }
  int requests() const { return requests_; }
  bool stopping() const { return stopping_; }

  // Writes all of `bytes`; false when the peer is gone.
  static bool WriteAll(int socket, const std::string& bytes);
  // "HTTP/1.1 <status> X\r\nContent-Length: N\r\n<extra headers>\r\n<body>"
  static std::string Response(int status, const std::string& body, const std::string& extra_headers = "");

 private:
  void AcceptLoop();
  void Serve(int socket);

  Handler handler_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::vector<std::thread> connection_threads_;
  std::vector<int> sockets_;
};

}  // namespace ief::testing
