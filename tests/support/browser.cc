#include "support/browser.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace ief::testing {
namespace {

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Starts `argv` in a process group of its own (Chromium starts a zygote, renderers and a GPU process: on a
// timeout the whole group goes), stdout and stderr into files.
pid_t SpawnGroup(const std::vector<std::string>& argv, const std::string& stdout_path, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  // Nothing else of the test's: a browser left behind must not hold its files open (a lock such as cpulock's
  // flock among them).
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits for `pid` until `deadline`; returns its exit code, or -1 when it died by a signal or had to be killed.
// Whatever is left of its process group is killed either way.
int WaitOrKillGroup(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  int code = -1;
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFEXITED(status)) code = WEXITSTATUS(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(-pid, SIGKILL);  // helpers that outlived the browser process, if any (ESRCH when none)
  return code;
}

}  // namespace

HeadlessChromium::HeadlessChromium(std::chrono::seconds deadline) : deadline_(deadline) {
  std::string pattern = "/tmp/ief_chromium_XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  profile_dir_ = pattern;
}

HeadlessChromium::~HeadlessChromium() {
  std::error_code ignored;
  std::filesystem::remove_all(profile_dir_, ignored);
}

std::vector<std::string> HeadlessChromium::BaseFlags() {
  // --no-sandbox: the tests run as root, where Chromium refuses its sandbox. The --disable-* flags keep it from
  // calling Google's services (refused on a closed network, and slow to give up). --disable-dev-shm-usage: Debian's
  // launcher adds it only when /dev/shm is small, and its check misreads some machines.
  return {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--hide-scrollbars"};
}

std::optional<std::string> HeadlessChromium::Run(std::vector<std::string> flags, const std::string& url) {
  static int runs = 0;
  const std::string run_dir = profile_dir_ + "/run-" + std::to_string(++runs);
  std::filesystem::create_directories(run_dir + "/profile");
  std::vector<std::string> argv = {IEF_CHROMIUM_BIN};
  for (const std::string& flag : BaseFlags()) argv.push_back(flag);
  argv.push_back("--user-data-dir=" + run_dir + "/profile");  // a fresh profile: no cache, no saved passwords
  for (std::string& flag : flags) argv.push_back(std::move(flag));
  argv.push_back(url);

  const std::string stdout_path = run_dir + "/stdout", log_path = run_dir + "/log";
  pid_t pid = SpawnGroup(argv, stdout_path, log_path);
  if (pid < 0) {
    log_ = "cannot start " + argv[0];
    return std::nullopt;
  }
  int code = WaitOrKillGroup(pid, std::chrono::steady_clock::now() + deadline_);
  log_ = ReadWhole(log_path);
  if (code != 0) {
    log_ += "\n[chromium exit code " + std::to_string(code) + " (-1: killed at the deadline or by a signal)]";
    return std::nullopt;
  }
  return ReadWhole(stdout_path);
}

std::optional<std::string> HeadlessChromium::DumpDom(const std::string& url) { return Run({"--dump-dom"}, url); }

bool HeadlessChromium::Screenshot(const std::string& url, const std::string& png_path, int width, int height) {
  return Run({"--screenshot=" + png_path, "--window-size=" + std::to_string(width) + "," + std::to_string(height)},
             url)
      .has_value();
}

}  // namespace ief::testing
