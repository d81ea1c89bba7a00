#include "config/config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <regex>
#include <set>

#include "config/yaml_reader.h"
#include "util/file.h"
#include "util/text.h"
#include "util/url.h"

namespace ief {
namespace {

using Presence = ConfigReader::Presence;

constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;
// std::regex compiles (and the poller compiles again, on its own thread) by recursion, about 400 bytes of stack per
// nested group: a cap on the length bounds the nesting, and 1,024 characters are plenty to match job names.
constexpr size_t kMaxNameRegexBytes = 1024;

// Intervals have a floor a real deployment never goes under: the API quota is the tenant's, not ours.
constexpr Duration kMinInterval = std::chrono::seconds(1);

// An interval where 0s has a meaning of its own (`zero_means`); anything else keeps the one-second floor.
void ReadIntervalOrZero(ConfigReader& r, const YAML::Node& node, std::string_view key, std::string_view zero_means,
                        Duration& out) {
  std::optional<Duration> value = r.DurationValue(node, key, Duration(0));
  if (!value) return;
  if (*value != Duration(0) && *value < kMinInterval) {
    r.Fail(ConfigReader::Child(node, key).Mark(), std::string(key) + " must be 0s (" + std::string(zero_means) +
                                                       ") or at least " + FormatDuration(kMinInterval));
    return;
  }
  out = *value;
}

// Histogram buckets given as durations, increasing and positive.
void ReadBuckets(ConfigReader& r, const YAML::Node& node, std::string_view key, std::vector<Duration>& out) {
  std::optional<std::vector<std::string>> items = r.StringList(node, key);
  if (!items) return;
  const YAML::Mark mark = ConfigReader::Child(node, key).Mark();
  std::vector<Duration> buckets;
  for (const std::string& item : *items) {
    Result<Duration> bucket = ParseDuration(item);
    if (!bucket.ok() || *bucket <= Duration(0) || (!buckets.empty() && *bucket <= buckets.back())) {
      r.Fail(mark, std::string(key) + " must be increasing positive durations such as [1m, 5m, 1h]");
      return;
    }
    buckets.push_back(*bucket);
  }
  if (buckets.empty()) r.Fail(mark, std::string(key) + " must not be empty");
  out = std::move(buckets);
}

void ReadGlobal(ConfigReader& r, const YAML::Node& node, GlobalConfig& g) {
  if (!r.CheckMap(node, "global",
                  {"poll_interval", "request_timeout", "max_concurrency", "max_retries", "rate_limit",
                   "terminal_recheck_interval", "active_refresh_interval", "per_task_metrics",
                   "max_tasks_per_job", "finished_job_retention", "node_failure_metrics", "job_duration_buckets"})) {
    return;
  }
  if (auto v = r.DurationValue(node, "poll_interval", kMinInterval)) g.poll_interval = *v;
  if (auto v = r.DurationValue(node, "request_timeout", std::chrono::milliseconds(100))) g.request_timeout = *v;
  if (auto v = r.Integer(node, "max_concurrency", 1, 1024)) g.max_concurrency = static_cast<int>(*v);
  if (auto v = r.Integer(node, "max_retries", 0, 10)) g.max_retries = static_cast<int>(*v);
  if (auto v = r.Number(node, "rate_limit", 0.01, 1e6)) g.rate_limit = *v;
  if (auto v = r.DurationValue(node, "terminal_recheck_interval", kMinInterval)) g.terminal_recheck_interval = *v;
  // 0s: re-read every active job every round (the old behaviour).
  ReadIntervalOrZero(r, node, "active_refresh_interval", "every round", g.active_refresh_interval);
  if (auto v = r.Bool(node, "per_task_metrics")) g.per_task_metrics = *v;
  if (auto v = r.Integer(node, "max_tasks_per_job", 0, 1000000)) g.max_tasks_per_job = static_cast<int>(*v);
  ReadIntervalOrZero(r, node, "finished_job_retention", "for ever", g.finished_job_retention);
  if (auto v = r.Bool(node, "node_failure_metrics")) g.node_failure_metrics = *v;
  ReadBuckets(r, node, "job_duration_buckets", g.job_duration_buckets);
}

void ReadUrl(ConfigReader& r, const YAML::Node& node, std::string_view key, std::string& out) {
  auto url = r.String(node, key, Presence::kRequired);
  if (!url) return;
  Result<std::string> normalized = NormalizeEndpoint(*url);
  if (!normalized.ok()) {
    r.Fail(ConfigReader::Child(node, key).Mark(), std::string(key) + ": " + normalized.error().message);
    return;
  }
  out = *normalized;
}

void ReadIam(ConfigReader& r, const YAML::Node& node, IamAuthConfig& iam) {
  if (!r.CheckMap(node, "auth.iam", {"endpoint", "domain", "user", "password", "password_file", "project_name"})) {
    return;
  }
  ReadUrl(r, node, "endpoint", iam.endpoint);
  if (auto v = r.String(node, "domain", Presence::kRequired)) iam.domain = *v;
  if (auto v = r.String(node, "user", Presence::kRequired)) iam.user = *v;
  if (auto v = r.String(node, "project_name", Presence::kOptional)) iam.project_name = *v;
  ReadSecretPair(r, node, "password", "password_file", iam.password, iam.password_file, Presence::kRequired);
}

void ReadAksk(ConfigReader& r, const YAML::Node& node, AkskAuthConfig& aksk) {
  if (!r.CheckMap(node, "auth.aksk", {"access_key", "secret_key", "secret_key_file", "security_token"})) return;
  if (auto v = r.String(node, "access_key", Presence::kRequired)) {
    if (!IsValidHeaderValue(*v) || v->empty()) r.Fail(ConfigReader::Child(node, "access_key").Mark(), "access_key is not valid");
    aksk.access_key = *v;
  }
  if (auto v = r.String(node, "security_token", Presence::kOptional)) {
    // Sent as the X-Security-Token header: a line break would start a header of its own.
    if (!IsValidHeaderValue(*v)) {
      r.Fail(ConfigReader::Child(node, "security_token").Mark(), "security_token has invalid characters");
    }
    aksk.security_token = *v;
  }
  ReadSecretPair(r, node, "secret_key", "secret_key_file", aksk.secret_key, aksk.secret_key_file, Presence::kRequired);
}

void ReadAuth(ConfigReader& r, const YAML::Node& node, AuthConfig& auth) {
  if (!r.CheckMap(node, "auth", {"token", "token_file", "iam", "aksk"})) return;
  int forms = 0;
  for (const char* key : {"token", "token_file", "iam", "aksk"}) {
    if (ConfigReader::Child(node, key).IsDefined()) ++forms;
  }
  if (forms != 1) {
    r.Fail(node.Mark(), "auth needs exactly one of token, token_file, iam, aksk (found " +
                            std::to_string(forms) + ")");
    return;
  }
  if (ConfigReader::Child(node, "iam").IsDefined()) {
    auth.kind = AuthConfig::Kind::kIam;
    ReadIam(r, ConfigReader::Child(node, "iam"), auth.iam);
  } else if (ConfigReader::Child(node, "aksk").IsDefined()) {
    auth.kind = AuthConfig::Kind::kAksk;
    ReadAksk(r, ConfigReader::Child(node, "aksk"), auth.aksk);
  } else {
    ReadSecretPair(r, node, "token", "token_file", auth.token, auth.token_file, Presence::kRequired);
    auth.kind = auth.token_file.empty() ? AuthConfig::Kind::kToken : AuthConfig::Kind::kTokenFile;
    if (auth.kind == AuthConfig::Kind::kToken && !IsValidHeaderValue(auth.token)) {
      r.Fail(ConfigReader::Child(node, "token").Mark(), "token contains characters not allowed in a header");
    }
  }
}

void ReadDiscovery(ConfigReader& r, const YAML::Node& node, DiscoveryConfig& d) {
  if (!r.CheckMap(node, "discovery", {"enabled", "interval", "job_types", "name_regex", "max_age", "full_walk_interval"})) {
    return;
  }
  d.enabled = r.Bool(node, "enabled").value_or(true);  // a discovery block means "on" unless it says otherwise
  d.interval = r.DurationValue(node, "interval", kMinInterval);
  d.max_age = r.DurationValue(node, "max_age", std::chrono::seconds(1));
  if (auto full = r.DurationValue(node, "full_walk_interval", Duration(0))) d.full_walk_interval = *full;
  if (auto types = r.StringList(node, "job_types")) d.job_types = *types;
  if (auto regex = r.String(node, "name_regex", Presence::kOptional)) {
    if (regex->size() > kMaxNameRegexBytes) {
      r.Fail(ConfigReader::Child(node, "name_regex").Mark(),
             "name_regex is longer than " + std::to_string(kMaxNameRegexBytes) + " characters");
      return;
    }
    try {
      std::regex compiled(*regex, std::regex::ECMAScript);
      d.name_regex = *regex;
    } catch (const std::regex_error& e) {
      r.Fail(ConfigReader::Child(node, "name_regex").Mark(), std::string("name_regex is not a valid regex: ") + e.what());
    }
  }
}

void ReadJobs(ConfigReader& r, const YAML::Node& node, ProjectConfig& p) {
  YAML::Node jobs = ConfigReader::Child(node, "jobs");
  if (!jobs.IsDefined() || jobs.IsNull()) return;
  if (!jobs.IsSequence()) {
    r.Fail(jobs.Mark(), "jobs must be a list of batch job ids");
    return;
  }
  std::set<std::string> seen;
  for (const YAML::Node& job : jobs) {
    if (!job.IsScalar() || !IsSafePathSegment(job.Scalar())) {
      r.Fail(job.Mark(), "a job id must be a string of letters, digits, '-', '_' or '.'");
      continue;
    }
    if (!seen.insert(job.Scalar()).second) {
      r.Fail(job.Mark(), "job " + Quoted(job.Scalar()) + " is listed twice");
      continue;
    }
    p.jobs.push_back(job.Scalar());
  }
}

void ReadProject(ConfigReader& r, const YAML::Node& node, ProjectConfig& p) {
  if (!r.CheckMap(node, "a project", {"project_id", "endpoint", "instance_id", "auth", "jobs", "discovery"})) return;
  if (auto v = r.String(node, "project_id", Presence::kRequired)) {
    if (!IsSafePathSegment(*v)) {
      r.Fail(ConfigReader::Child(node, "project_id").Mark(),
             "project_id must be letters, digits, '-', '_' or '.'");
    }
    p.project_id = *v;
  }
  ReadUrl(r, node, "endpoint", p.endpoint);
  if (auto v = r.String(node, "instance_id", Presence::kOptional)) {
    if (!IsValidHeaderValue(*v)) r.Fail(ConfigReader::Child(node, "instance_id").Mark(), "instance_id has invalid characters");
    p.instance_id = *v;
  }
  YAML::Node auth = ConfigReader::Child(node, "auth");
  if (!auth.IsDefined()) {
    r.Fail(node.Mark(), "missing required key \"auth\"");
  } else {
    ReadAuth(r, auth, p.auth);
  }
  ReadJobs(r, node, p);
  YAML::Node discovery = ConfigReader::Child(node, "discovery");
  if (discovery.IsDefined()) ReadDiscovery(r, discovery, p.discovery);
  if (p.jobs.empty() && !p.discovery.enabled) {
    r.Fail(node.Mark(), "project " + Quoted(p.project_id) + " tracks nothing: list jobs or enable discovery");
  }
}

void ReadProjects(ConfigReader& r, const YAML::Node& root, Config& config) {
  YAML::Node projects = ConfigReader::Child(root, "projects");
  if (!projects.IsDefined()) {
    r.Fail(root.Mark(), "missing required key \"projects\"");
    return;
  }
  // An empty list is allowed: a freshly installed package starts, serving only the exporter's own metrics.
  if (!projects.IsSequence()) {
    r.Fail(projects.Mark(), "projects must be a list");
    return;
  }
  std::set<std::string> seen_ids;
  for (const YAML::Node& node : projects) {
    ProjectConfig project;
    ReadProject(r, node, project);
    if (!project.project_id.empty() && !seen_ids.insert(project.project_id).second) {
      r.Fail(node.Mark(), "project_id " + Quoted(project.project_id) + " appears twice");
    }
    config.projects.push_back(std::move(project));
  }
}

}  // namespace

Result<std::string> NormalizeEndpoint(std::string_view url) {
  Result<Url> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return parsed.error();
  if ((!parsed->path.empty() && parsed->path != "/") || url.find('?') != std::string_view::npos) {
    return Error(ErrorKind::kInvalidArgument, "must be a base URL with no path or query");
  }
  return parsed->scheme + "://" + parsed->authority;
}

namespace {

Result<Config> ParseConfigOnThisThread(std::string_view text, const std::string& source) {
  ConfigReader reader(source);
  YAML::Node root;
  if (!LoadYaml(reader, text, root)) return Error(ErrorKind::kInvalidArgument, reader.JoinedErrors());
  Config config;
  config.source = source;
  if (reader.CheckMap(root, "the top level", {"global", "projects"})) {
    YAML::Node global = ConfigReader::Child(root, "global");
    if (global.IsDefined() && !global.IsNull()) ReadGlobal(reader, global, config.global);
    ReadProjects(reader, root, config);
  }
  if (reader.HasErrors()) return Error(ErrorKind::kInvalidArgument, reader.JoinedErrors());
  return config;
}

}  // namespace

Result<Config> ParseConfig(std::string_view text, const std::string& source) {
  return ParseOnLargeStack<Config>(source, [&] { return ParseConfigOnThisThread(text, source); });
}

Result<Config> LoadConfigFile(const std::string& path) {
  Result<std::string> text = ReadFileCapped(path, kMaxConfigBytes);
  if (!text.ok()) return text.error();
  return ParseConfig(*text, path);
}

}  // namespace ief
