// The exporter's configuration: the YAML file README.md documents (config/ief_exporter.example.yml), loaded strictly.
// Every mistake is reported as "file:line:column: message"; a config either loads whole or not at all.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/duration.h"
#include "util/result.h"

namespace ief {

struct GlobalConfig {
  Duration poll_interval = std::chrono::seconds(30);
  Duration request_timeout = std::chrono::seconds(10);
  int max_concurrency = 8;
  int max_retries = 2;
  double rate_limit = 20;
  Duration terminal_recheck_interval = std::chrono::minutes(10);
  // An active job's details are re-read at least this often even when the list shows no change (catches task
  // moves that change no count); 0: every round.
  Duration active_refresh_interval = std::chrono::minutes(5);
  bool per_task_metrics = true;
  int max_tasks_per_job = 1000;
  // A discovered job's series go this long after it finished; the history counters stay. 0: never.
  Duration finished_job_retention = std::chrono::hours(72);
  bool node_failure_metrics = false;  // ief_node_task_failures_total (one series per failing edge node, capped)
  std::vector<Duration> job_duration_buckets;  // ief_batch_job_duration_seconds; empty: 1m to 24h
};

struct IamAuthConfig {
  std::string endpoint;
  std::string domain;
  std::string user;
  std::string password;       // inline form; empty when password_file is used
  std::string password_file;
  std::string project_name;   // optional: scope the token by project name instead of id
};

struct AkskAuthConfig {
  std::string access_key;
  std::string secret_key;     // inline form; empty when secret_key_file is used
  std::string secret_key_file;
  std::string security_token; // temporary credentials only
};

struct AuthConfig {
  enum class Kind { kToken, kTokenFile, kIam, kAksk };
  Kind kind = Kind::kToken;
  std::string token;       // kToken
  std::string token_file;  // kTokenFile
  IamAuthConfig iam;       // kIam
  AkskAuthConfig aksk;     // kAksk
};

struct DiscoveryConfig {
  bool enabled = false;
  std::optional<Duration> interval;  // default: global.poll_interval
  std::vector<std::string> job_types;  // empty: all
  std::string name_regex;              // empty: all
  std::optional<Duration> max_age;     // unset: no limit
  // Between two walks of the whole list, walks read only its head (the jobs created since the oldest one still
  // followed from the list); 0: every walk reads the whole list.
  Duration full_walk_interval = std::chrono::minutes(10);
};

struct ProjectConfig {
  std::string project_id;
  std::string endpoint;     // scheme://host[:port], no trailing slash
  std::string instance_id;  // optional ief-instance-id header
  AuthConfig auth;
  std::vector<std::string> jobs;
  DiscoveryConfig discovery;
};

// Config::source of the config `--demo` builds in memory.
inline constexpr const char* kDemoConfigSource = "(demo)";

struct Config {
  std::string source;  // file name the config came from, for messages and reloads
  GlobalConfig global;
  std::vector<ProjectConfig> projects;
};

// Loads and validates a config file. The error lists every problem found, one per line. Safe from any thread at
// any nesting: the parse runs on a thread of its own with a large stack.
Result<Config> LoadConfigFile(const std::string& path);

// Same for text already in memory; `source` names it in messages.
Result<Config> ParseConfig(std::string_view text, const std::string& source);

// Checks a base URL: http or https, a host, an optional port, no path, query or credentials.
// Returns the URL without a trailing slash.
Result<std::string> NormalizeEndpoint(std::string_view url);

}  // namespace ief
