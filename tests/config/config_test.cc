#include "config/config.h"
#include "config/web_config.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>

#include "support/deep_yaml.h"
#include "support/fixtures.h"
#include "util/large_stack.h"

using ief::ParseConfig;
using namespace std::chrono_literals;

namespace {

// A readable temporary file, removed at scope exit.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/ief_config_test_XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    close(fd);
    path = name;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

std::string ErrorOf(const std::string& yaml) {
  auto config = ParseConfig(yaml, "test.yml");
  REQUIRE_FALSE(config.ok());
  return config.error().message;
}

const char* kMinimalProject = R"(projects:
  - project_id: p1
    endpoint: https://ief.example.com
    auth: {token: abc}
    jobs: [job-1]
)";

}  // namespace

TEST_CASE("a full config loads with every value") {
  TempFile token("secret-token\n");
  std::string yaml = R"(global:
  poll_interval: 15s
  request_timeout: 2s
  max_concurrency: 4
  max_retries: 3
  rate_limit: 7.5
  terminal_recheck_interval: 20m
  per_task_metrics: false
  max_tasks_per_job: 50
projects:
  - project_id: 0123456789abcdef0123456789abcdef
    endpoint: https://ief.cn-north-4.myhuaweicloud.com/
    instance_id: db953bf7-9f6c-4e90-9963-0a4453df72ba
    auth:
      token_file: )" + token.path + R"(
    jobs:
      - 66273c66-f72e-4607-8769-3663d255fb83
      - second-job
    discovery:
      interval: 1m
      job_types: [node_upgrade]
      name_regex: 'nightly-.*'
      max_age: 168h
  - project_id: other
    endpoint: http://127.0.0.1:8080
    auth: {token: "MIIB"}
    jobs: [a]
)";
  auto config = ParseConfig(yaml, "full.yml");
  REQUIRE(config.ok());
  CHECK(config->global.poll_interval == 15s);
  CHECK(config->global.request_timeout == 2s);
  CHECK(config->global.max_concurrency == 4);
  CHECK(config->global.max_retries == 3);
  CHECK(config->global.rate_limit == 7.5);
  CHECK(config->global.terminal_recheck_interval == 20min);
  CHECK_FALSE(config->global.per_task_metrics);
  CHECK(config->global.max_tasks_per_job == 50);
  REQUIRE(config->projects.size() == 2);
  const auto& p = config->projects[0];
  CHECK(p.project_id == "0123456789abcdef0123456789abcdef");
  CHECK(p.endpoint == "https://ief.cn-north-4.myhuaweicloud.com");  // trailing slash dropped
  CHECK(p.instance_id == "db953bf7-9f6c-4e90-9963-0a4453df72ba");
  CHECK(p.auth.kind == ief::AuthConfig::Kind::kTokenFile);
  CHECK(p.auth.token_file == token.path);
  CHECK(p.jobs == std::vector<std::string>{"66273c66-f72e-4607-8769-3663d255fb83", "second-job"});
  CHECK(p.discovery.enabled);
  CHECK(p.discovery.interval == std::optional<ief::Duration>(1min));
  CHECK(p.discovery.job_types == std::vector<std::string>{"node_upgrade"});
  CHECK(p.discovery.name_regex == "nightly-.*");
  CHECK(p.discovery.max_age == std::optional<ief::Duration>(168h));
  CHECK(config->projects[1].auth.kind == ief::AuthConfig::Kind::kToken);
  CHECK(config->projects[1].auth.token == "MIIB");
}

TEST_CASE("intervals have a floor of one second, and active_refresh_interval also takes 0s for every round") {
  for (const char* key : {"poll_interval", "terminal_recheck_interval", "active_refresh_interval"}) {
    INFO(key);
    auto too_fast = ParseConfig(std::string("global:\n  ") + key + ": 500ms\n" + kMinimalProject, "fast.yml");
    REQUIRE_FALSE(too_fast.ok());
    CHECK_THAT(too_fast.error().message, Catch::Contains("fast.yml:2:") && Catch::Contains("1s"));
  }
  auto zero_poll = ParseConfig(std::string("global:\n  poll_interval: 0s\n") + kMinimalProject, "zero.yml");
  CHECK_FALSE(zero_poll.ok());
  auto every_round =
      ParseConfig(std::string("global:\n  active_refresh_interval: 0s\n  poll_interval: 1s\n") + kMinimalProject,
                  "every.yml");
  REQUIRE(every_round.ok());
  CHECK(every_round->global.active_refresh_interval == 0s);
  CHECK(every_round->global.poll_interval == 1s);
}

TEST_CASE("an empty project list is a valid config: the exporter then serves only its own metrics") {
  auto config = ParseConfig("projects: []\n", "empty.yml");
  REQUIRE(config.ok());
  CHECK(config->projects.empty());
}

TEST_CASE("defaults apply when global is absent") {
  auto config = ParseConfig(kMinimalProject, "min.yml");
  REQUIRE(config.ok());
  CHECK(config->global.poll_interval == 30s);
  CHECK(config->global.request_timeout == 10s);
  CHECK(config->global.max_concurrency == 8);
  CHECK(config->global.max_retries == 2);
  CHECK(config->global.active_refresh_interval == 5min);
  CHECK(config->global.rate_limit == 20);
  CHECK(config->global.terminal_recheck_interval == 10min);
  CHECK(config->global.per_task_metrics);
  CHECK(config->global.max_tasks_per_job == 1000);
}

TEST_CASE("the iam and aksk auth forms are read") {
  TempFile password("pw\n");
  auto config = ParseConfig(R"(projects:
  - project_id: p1
    endpoint: https://ief.example.com
    auth:
      iam: {endpoint: "https://iam.example.com", domain: D, user: U, password_file: )" + password.path + R"(}
    jobs: [j]
  - project_id: p2
    endpoint: https://ief.example.com
    auth:
      aksk: {access_key: AK, secret_key: SK, security_token: ST}
    jobs: [j]
)", "auth.yml");
  REQUIRE(config.ok());
  CHECK(config->projects[0].auth.kind == ief::AuthConfig::Kind::kIam);
  CHECK(config->projects[0].auth.iam.user == "U");
  CHECK(config->projects[0].auth.iam.password_file == password.path);
  CHECK(config->projects[1].auth.kind == ief::AuthConfig::Kind::kAksk);
  CHECK(config->projects[1].auth.aksk.secret_key == "SK");
}

// Each bad config names the exact position of the mistake.
TEST_CASE("config mistakes are reported with file:line:column") {
  struct Case {
    const char* what;
    std::string yaml;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"unknown key", std::string("global:\n  pol_interval: 30s\n") + kMinimalProject,
       "test.yml:2:3: unknown key \"pol_interval\" in global"},
      {"duplicate key", std::string("global:\n  poll_interval: 30s\n  poll_interval: 10s\n") + kMinimalProject,
       "test.yml:3:3: duplicate key \"poll_interval\" in global"},
      {"wrong type", std::string("global:\n  max_concurrency: many\n") + kMinimalProject,
       "test.yml:2:20: max_concurrency must be an integer"},
      {"quoted integer", std::string("global:\n  max_concurrency: \"8\"\n") + kMinimalProject,
       "test.yml:2:20: max_concurrency must be an integer"},
      {"negative number", std::string("global:\n  max_concurrency: -1\n") + kMinimalProject,
       "test.yml:2:20: max_concurrency must be between 1 and 1024"},
      {"bad duration", std::string("global:\n  poll_interval: 30\n") + kMinimalProject,
       "test.yml:2:18: poll_interval: invalid duration \"30\""},
      {"yes is not a boolean", std::string("global:\n  per_task_metrics: yes\n") + kMinimalProject,
       "test.yml:2:21: per_task_metrics must be true or false"},
      {"tab", std::string("global:\n\tpoll_interval: 30s\n") + kMinimalProject,
       "test.yml:2:1: tab character"},
      {"non-http endpoint",
       "projects:\n  - project_id: p1\n    endpoint: ftp://ief.example.com\n    auth: {token: a}\n    jobs: [j]\n",
       "test.yml:3:15: endpoint: must start with http:// or https://"},
      {"endpoint with a path",
       "projects:\n  - project_id: p1\n    endpoint: https://ief.example.com/v2\n    auth: {token: a}\n    jobs: [j]\n",
       "test.yml:3:15: endpoint: must be a base URL with no path or query"},
      {"missing endpoint", "projects:\n  - project_id: p1\n    auth: {token: a}\n    jobs: [j]\n",
       "test.yml:2:5: missing required key \"endpoint\""},
      {"missing auth", "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    jobs: [j]\n",
       "test.yml:2:5: missing required key \"auth\""},
      {"both token and token_file",
       "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    auth:\n      token: a\n      token_file: /etc/hostname\n    jobs: [j]\n",
       "test.yml:5:7: auth needs exactly one of token, token_file, iam, aksk (found 2)"},
      {"unreadable token file",
       "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    auth:\n      token_file: /nonexistent/token\n    jobs: [j]\n",
       "test.yml:5:19: token_file: cannot read /nonexistent/token: No such file or directory"},
      {"project map", "projects: {}\n", "test.yml:1:11: projects must be a list"},
      {"no projects key", "global:\n  poll_interval: 30s\n", "test.yml:1:1: missing required key \"projects\""},
      {"job listed twice",
       "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    auth: {token: a}\n    jobs: [j, j]\n",
       "test.yml:5:15: job \"j\" is listed twice"},
      {"job id with a slash",
       "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    auth: {token: a}\n    jobs: [\"a/../b\"]\n",
       "test.yml:5:12: a job id must be"},
      {"project with nothing to track",
       "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    auth: {token: a}\n",
       "test.yml:2:5: project \"p1\" tracks nothing"},
      {"duplicate project",
       std::string(kMinimalProject) + "  - project_id: p1\n    endpoint: https://e.com\n    auth: {token: a}\n    jobs: [j]\n",
       "test.yml:6:5: project_id \"p1\" appears twice"},
      {"YAML syntax error", "projects: [\n", "test.yml:2:1: YAML syntax error"},
      {"bad regex",
       "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    auth: {token: a}\n    discovery: {name_regex: '('}\n",
       "test.yml:5:29: name_regex is not a valid regex"},
      {"empty file", "", "test.yml:1:1: the file is empty"},
      {"security token with a line break",
       "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    jobs: [j]\n    auth:\n      aksk:\n"
       "        access_key: AK\n        secret_key: SK\n        security_token: \"ST\\r\\nX-Evil: 1\"\n",
       "test.yml:9:25: security_token has invalid characters"},
      {"null value", std::string("global:\n  poll_interval:\n") + kMinimalProject,
       "test.yml:2:3: poll_interval has no value"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK_THAT(ErrorOf(c.yaml), Catch::StartsWith(c.expected));
  }
}

namespace {

// Parses on a thread with CivetWeb's 100 KiB of stack, as POST /-/reload does.
ief::Result<ief::Config> ParseOnSmallStack(const std::string& yaml) {
  std::optional<ief::Result<ief::Config>> parsed;
  REQUIRE(ief::RunWithStack(100 * 1024, [&] { parsed.emplace(ParseConfig(yaml, "deep.yml")); }).ok());
  return *std::move(parsed);
}

}  // namespace

TEST_CASE("a config nested at any depth is refused with its position, even from a small stack") {
  using ief::testing::Nesting;
  for (Nesting nesting : ief::testing::kAllNestings) {
    for (int levels : {200, 1999, 5000, 10000}) {
      // Block mappings grow quadratically (50 MB at 10,000 levels): the 4 MiB file cap refuses those first, which
      // the integration tests check through the real file paths.
      if (nesting == Nesting::kBlockMapping && levels > 2000) continue;
      INFO(ief::testing::NestingName(nesting) << ", " << levels << " levels");
      auto parsed = ParseOnSmallStack(ief::testing::DeeplyNestedConfig(nesting, levels));
      REQUIRE_FALSE(parsed.ok());
      CHECK_THAT(parsed.error().message, Catch::Matches(R"(deep\.yml:[0-9]+:[0-9]+: [\s\S]+)"));
      // From 2,000 levels yaml-cpp's guard stops the parser; below, the checks refuse the odd value.
      if (levels >= 5000) CHECK_THAT(parsed.error().message, Catch::Contains("nested too deeply"));
    }
  }
}

TEST_CASE("name_regex is capped in length, which caps its nesting") {
  const std::string project = "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    auth: {token: a}\n"
                              "    discovery: {name_regex: '";
  std::string nested_512 = std::string(512, '(') + std::string(512, ')');  // 1,024 characters: allowed
  auto allowed = ParseOnSmallStack(project + nested_512 + "'}\n");
  CHECK(allowed.ok());
  std::string nested_513 = std::string(513, '(') + std::string(513, ')');
  auto refused = ParseOnSmallStack(project + nested_513 + "'}\n");
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::StartsWith("deep.yml:5:29: name_regex is longer than 1024 characters"));
}

TEST_CASE("every error is reported, not only the first") {
  std::string errors = ErrorOf("global:\n  poll_interval: x\n  max_concurrency: 0\n" + std::string(kMinimalProject));
  CHECK_THAT(errors, Catch::Contains("test.yml:2:18:"));
  CHECK_THAT(errors, Catch::Contains("\ntest.yml:3:20:"));
}

TEST_CASE("a secret never appears in an error message") {
  std::string errors = ErrorOf(
      "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    auth: {token: SUPERSECRET, token_file: /x}\n"
      "    jobs: [j]\n");
  CHECK_THAT(errors, !Catch::Contains("SUPERSECRET"));
}

TEST_CASE("LoadConfigFile names the file and reads it") {
  TempFile file(kMinimalProject);
  auto config = ief::LoadConfigFile(file.path);
  REQUIRE(config.ok());
  CHECK(config->source == file.path);
  auto missing = ief::LoadConfigFile("/nonexistent/ief.yml");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("/nonexistent/ief.yml"));
}

TEST_CASE("a config or secret file that is a pipe, a directory or a device is refused at once, never read") {
  ief::testing::TempFifo fifo;
  const auto started = std::chrono::steady_clock::now();
  auto config = ief::LoadConfigFile(fifo.path());
  REQUIRE_FALSE(config.ok());
  CHECK(config.error().message == "cannot read " + fifo.path() + ": not a regular file (a named pipe)");
  auto web_config = ief::LoadWebConfigFile(fifo.path());
  REQUIRE_FALSE(web_config.ok());
  CHECK(web_config.error().message == config.error().message);

  // Every secret file is read by the check exactly as the authenticators read it.
  const std::string head = "projects:\n  - project_id: p1\n    endpoint: https://e.com\n    jobs: [j]\n    auth:\n";
  for (const std::string& path : {fifo.path(), std::string("/tmp"), std::string("/dev/zero")}) {
    INFO(path);
    CHECK_THAT(ErrorOf(head + "      token_file: " + path + "\n"),
               Catch::StartsWith("test.yml:6:19: token_file: cannot read " + path + ": not a regular file ("));
    CHECK_THAT(ErrorOf(head + "      iam: {endpoint: https://iam.example.com, domain: d, user: u, password_file: " +
                       path + "}\n"),
               Catch::Contains(": password_file: cannot read " + path + ": not a regular file ("));
    CHECK_THAT(ErrorOf(head + "      aksk: {access_key: AK, secret_key_file: " + path + "}\n"),
               Catch::Contains(": secret_key_file: cannot read " + path + ": not a regular file ("));
  }
  TempFile huge(std::string(64 * 1024 + 1, 'x'));
  CHECK(ErrorOf(head + "      token_file: " + huge.path + "\n") ==
        "test.yml:6:19: token_file: cannot read " + huge.path + ": larger than 65536 bytes");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
}

TEST_CASE("NormalizeEndpoint") {
  CHECK(*ief::NormalizeEndpoint("https://ief.example.com") == "https://ief.example.com");
  CHECK(*ief::NormalizeEndpoint("http://127.0.0.1:8080/") == "http://127.0.0.1:8080");
  for (const char* bad : {"ief.example.com", "https://", "https://h:0", "https://h:99999", "https://h:x",
                          "https://u:p@h", "https://h?x=1", "https://h/#f", "https://h o"}) {
    INFO(bad);
    CHECK_FALSE(ief::NormalizeEndpoint(bad).ok());
  }
}
