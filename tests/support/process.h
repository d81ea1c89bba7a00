// Child processes for integration tests: start a binary with its output in a log file, read the port it logs,
// stop it and collect its exit code.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace ief::testing {

class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();  // SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Everything the process wrote to stdout and stderr so far.
  std::string Output() const;
  pid_t pid() const { return pid_; }
  // A field of /proc/PID/status in kB (VmRSS, VmHWM...), or -1.
  long StatusKilobytes(const std::string& field) const;
  // Polls the output for the "Listening on" log line and returns its port; -1 if the process exits or the
  // timeout passes first.
  int WaitForListeningPort(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // The first `count` addresses of the "Listening on" lines ("127.0.0.1:43123", "[::1]:43124"), in order; empty if
  // the process exits or the timeout passes before it logged that many.
  std::vector<std::string> WaitForListeningAddresses(size_t count,
                                                     std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Sends `signal` and returns at once.
  void Signal(int signal);
  // Sends `signal` and waits (bounded) for the exit; returns the exit code, 128+N for death by signal N, or -1.
  int Stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Waits for the process to exit by itself; returns its exit code or -1 on timeout.
  int WaitForExit(std::chrono::milliseconds timeout = std::chrono::seconds(15));

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// Runs a command to completion with `input` on stdin; returns the exit code and fills `output` with stdout+stderr.
int RunCommand(const std::vector<std::string>& argv, const std::string& input, std::string& output);

// One parsed exposition: series text (name{labels}) -> value.
std::map<std::string, double> ParseExposition(const std::string& text);

// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
template <typename Condition>
bool Eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace ief::testing

#include <thread>

template <typename Condition>
bool ief::testing::Eventually(Condition condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}
