// A careless operator: secret and config files that are named pipes nobody writes to. Nothing may wedge the
// exporter: such files are refused at --config.check, at start and at reload, at once, and signals keep working
// (SIGTERM exits within 2 s after each case).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "support/fixtures.h"
#include "support/integration.h"
#include "support/prompt_stop.h"

using namespace ief::testing;

namespace {

constexpr const char* kProject = "0123456789abcdef0123456789abcdef";
const std::string kNamedPipe = ": not a regular file (a named pipe)";

std::string TokenFileConfig(const std::string& endpoint, const std::string& token_file) {
  return "global:\n  poll_interval: 1s\n  request_timeout: 1s\n"
         "projects:\n  - project_id: " + std::string(kProject) + "\n    endpoint: " + endpoint +
         "\n    auth: {token_file: " + token_file + "}\n    discovery: {enabled: true}\n";
}

// Runs the exporter binary with `args` to its end: its exit code, or -1 when it is still running after 5 s.
int RunToExit(const std::vector<std::string>& args, std::string& output) {
  std::vector<std::string> argv = {IEF_EXPORTER_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess process(argv);
  int code = process.WaitForExit(std::chrono::seconds(5));
  output = process.Output();
  return code;
}

// Replaces the file at `path` by a named pipe.
void SwapForPipe(const std::string& path) {
  REQUIRE(::unlink(path.c_str()) == 0);
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
}

struct Stack {
  RunningProcess sim;
  TempFile token{"demo-token\n"};
  std::unique_ptr<TempFile> config;
  RunningProcess exporter;

  Stack() {
    sim = StartListening({IEF_SIMULATOR_BIN, "--web.listen-address=127.0.0.1:0",
                          std::string("--project-id=") + kProject, "--jobs=3", "--phase-seconds=100000"});
    REQUIRE_FALSE(sim.url.empty());
    config = std::make_unique<TempFile>(TokenFileConfig(sim.url, token.path()), ".yml");
    exporter = StartExporter(config->path(), {"--web.enable-lifecycle"});
    REQUIRE_FALSE(exporter.url.empty());
  }
  std::optional<double> Metric(const std::string& series) { return Value(Scrape(exporter), series); }
};

const std::string kReloadOk = "ief_exporter_config_last_reload_successful";
const std::string kUp = std::string("ief_up{project_id=\"") + kProject + "\"}";

}  // namespace

TEST_CASE("secret files that are named pipes are refused by --config.check and at start, at once") {
  TempFifo fifo;
  const std::string endpoint = "http://127.0.0.1:1";
  const std::vector<std::pair<std::string, std::string>> auth_blocks = {
      {"token_file", "{token_file: " + fifo.path() + "}"},
      {"password_file", "{iam: {endpoint: " + endpoint + ", domain: d, user: u, password_file: " + fifo.path() + "}}"},
      {"secret_key_file", "{aksk: {access_key: AK, secret_key_file: " + fifo.path() + "}}"},
  };
  for (const auto& [key, auth] : auth_blocks) {
    INFO(key);
    TempFile config("projects:\n  - project_id: p\n    endpoint: " + endpoint + "\n    auth: " + auth +
                        "\n    jobs: [a]\n",
                    ".yml");
    std::string output;
    CHECK(RunToExit({"--config.check", "--config.file=" + config.path()}, output) == 1);
    CHECK_THAT(output, Catch::Contains(key + ": cannot read " + fifo.path() + kNamedPipe));
    CHECK(RunToExit({"--config.file=" + config.path(), "--web.listen-address=127.0.0.1:0"}, output) == 1);
    CHECK_THAT(output, Catch::Contains(key + ": cannot read " + fifo.path() + kNamedPipe));
  }
}

TEST_CASE("a token file swapped for a named pipe while running: nothing waits, SIGHUP and SIGTERM still work") {
  Stack stack;
  REQUIRE(Eventually([&] { return stack.Metric(kUp) == 1; }));
  SwapForPipe(stack.token.path());
  // The next requests are not sent (no token) instead of waiting for the pipe: the API shows as down.
  CHECK(Eventually([&] { return stack.Metric(kUp) == 0; }));
  CHECK_THAT(stack.exporter.process->Output(), Catch::Contains(stack.token.path() + kNamedPipe));
  stack.exporter.process->Signal(SIGHUP);  // the reload reads the token file as the check does: refused
  CHECK(Eventually([&] { return stack.Metric(kReloadOk) == 0; }));
  CHECK(Http("GET", stack.exporter.url + "/-/healthy").status == 200);
  CheckStopsPromptly(stack.exporter);
}

TEST_CASE("the config file replaced by a named pipe, then SIGHUP: refused, the old config kept, signals work") {
  Stack stack;
  const std::string tracked = std::string("ief_tracked_jobs{project_id=\"") + kProject +
                              "\",source=\"discovery\",phase=\"active\"}";
  REQUIRE(Eventually([&] { return stack.Metric(tracked).value_or(0) > 0; }));
  const double tracked_before = *stack.Metric(tracked);
  SwapForPipe(stack.config->path());

  std::string output;
  CHECK(RunToExit({"--config.check", "--config.file=" + stack.config->path()}, output) == 1);  // was a hang
  CHECK_THAT(output, Catch::Contains("cannot read " + stack.config->path() + kNamedPipe));

  stack.exporter.process->Signal(SIGHUP);
  CHECK(Eventually([&] { return stack.Metric(kReloadOk) == 0; }));
  CHECK_THAT(stack.exporter.process->Output(), Catch::Contains("Config reload refused"));
  CHECK(stack.Metric(tracked) == tracked_before);  // the old config keeps polling
  CHECK(Eventually([&] { return stack.Metric(kUp) == 1; }));
  auto reload = Http("POST", stack.exporter.url + "/-/reload");  // the web path, too
  CHECK(reload.status == 500);
  CHECK_THAT(reload.body, Catch::Contains(kNamedPipe));
  stack.exporter.process->Signal(SIGHUP);  // and again: signals still work
  CheckStopsPromptly(stack.exporter);
}

TEST_CASE("a web config that is a named pipe is refused at start, at once") {
  TempFifo fifo;
  TempFile config("projects: []\n", ".yml");
  std::string output;
  CHECK(RunToExit({"--config.file=" + config.path(), "--web.config.file=" + fifo.path(),
                   "--web.listen-address=127.0.0.1:0"},
                  output) == 1);
  CHECK_THAT(output, Catch::Contains("cannot read " + fifo.path() + kNamedPipe));
}
