#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "util/url.h"

extern char** environ;

namespace ief::testing {
namespace {

std::string TempPath(const char* stem) {
  std::string pattern = std::string("/tmp/") + stem + "_XXXXXX";
  int fd = mkstemp(pattern.data());
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  return pattern;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& stdin_path, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  return pid;
}

// Non-blocking wait: the exit code if the child has ended, else -2.
int Reap(pid_t pid, bool block_until_deadline, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (!block_until_deadline || std::chrono::steady_clock::now() >= deadline) return -2;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv) : log_path_(TempPath("ief_child_log")) {
  pid_ = Spawn(argv, "/dev/null", log_path_);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    Reap(pid_, true, std::chrono::seconds(5));
  }
  std::remove(log_path_.c_str());
}

long ChildProcess::StatusKilobytes(const std::string& field) const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

std::string ChildProcess::Output() const {
  std::ifstream in(log_path_);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> ChildProcess::WaitForListeningAddresses(size_t count, std::chrono::milliseconds timeout) {
  // One line per address: msg="Listening on" address=127.0.0.1:43123 (or [::1]:43124, [::]:10038 ...).
  static const std::regex kListening("msg=\"Listening on\" address=(\\S*:[0-9]+)");
  std::vector<std::string> addresses;
  Eventually(
      [&] {
        addresses.clear();
        std::string output = Output();
        for (auto it = std::sregex_iterator(output.begin(), output.end(), kListening); it != std::sregex_iterator();
             ++it) {
          addresses.push_back((*it)[1]);
        }
        return addresses.size() >= count || Reap(pid_, false, {}) != -2;
      },
      timeout);
  if (addresses.size() < count) addresses.clear();
  return addresses;
}

int ChildProcess::WaitForListeningPort(std::chrono::milliseconds timeout) {
  std::vector<std::string> addresses = WaitForListeningAddresses(1, timeout);
  if (addresses.empty()) return -1;
  ief::Result<ief::HostPort> address = ief::SplitHostPort(addresses.front());
  return address.ok() ? address->port.value_or(-1) : -1;
}

void ChildProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

int ChildProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  return WaitForExit(timeout);
}

int ChildProcess::WaitForExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  int code = Reap(pid_, true, timeout);
  if (code == -2) return -1;
  pid_ = -1;
  return code;
}

int RunCommand(const std::vector<std::string>& argv, const std::string& input, std::string& output) {
  std::string input_path = TempPath("ief_cmd_in");
  std::string log_path = TempPath("ief_cmd_out");
  std::ofstream(input_path, std::ios::binary) << input;
  pid_t pid = Spawn(argv, input_path, log_path);
  int code = Reap(pid, true, std::chrono::seconds(60));
  std::ifstream in(log_path);
  std::ostringstream out;
  out << in.rdbuf();
  output = out.str();
  std::remove(input_path.c_str());
  std::remove(log_path.c_str());
  return code;
}

std::map<std::string, double> ParseExposition(const std::string& text) {
  std::map<std::string, double> series;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    series[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return series;
}

}  // namespace ief::testing
