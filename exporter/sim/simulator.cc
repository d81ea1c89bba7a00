#include "sim/simulator.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "upstream/auth/aksk_signer.h"
#include "util/text.h"
#include "util/time.h"

namespace ief {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kJsonType = "application/json";

const char* const kFailureReasons[] = {
    "image pull failed: swr.cn-north-4.myhuaweicloud.com/demo/sample:latest not found",
    "edge node is offline",
    "insufficient memory on node: requested 512Mi, available 128Mi",
    "container exited with code 137 (OOMKilled)",
};

// The outcome a generated job is scripted to reach.
enum class Plan { kSucceed, kPartlyFail, kFail, kLongRunning };

// A stretch of the simulated timeline (fractional seconds, such as a share of a phase) on the wall clock. At most
// 1e9 s (about 32 years) either way, whatever --phase-seconds says: a job's times are sums of a few of these, and
// each sum must stay within what the clock can hold.
WallTime::duration Span(std::chrono::duration<double> length) {
  const double seconds = std::isnan(length.count()) ? 0 : std::clamp(length.count(), -1e9, 1e9);
  return std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(seconds));
}

// Durations from the options and the control API, bounded to 100 years either way, so that any of them added to
// a time point stays within what the clock can hold.
Duration Bounded(Duration duration) {
  constexpr Duration kLimit = std::chrono::hours(24 * 365 * 100);
  return std::clamp(duration, -kLimit, kLimit);
}
SimConsistency Bounded(SimConsistency consistency) {
  consistency.details_lag = Bounded(consistency.details_lag);
  return consistency;
}
SimulatorOptions Bounded(SimulatorOptions options) {
  options.new_job_every = Bounded(options.new_job_every);
  options.iam_token_lifetime = Bounded(options.iam_token_lifetime);
  options.consistency = Bounded(options.consistency);
  return options;
}

// The whole second `time` falls in, and that second as the API writes timestamps.
WallTime WholeSecond(WallTime time) {
  return WallTime(std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()));
}
int64_t ApiSeconds(WallTime time) { return std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count(); }

std::string Uuidish(int index, int salt) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012x", 0x5e1a0000u + static_cast<unsigned>(index),
                static_cast<unsigned>(salt & 0xffff), static_cast<unsigned>(index & 0xfff),
                static_cast<unsigned>(salt & 0xfff), static_cast<unsigned>(index * 7919 + salt));
  return buf;
}

ServerReply JsonReply(int status, std::string body) { return ServerReply{status, kJsonType, std::move(body), {}}; }

ServerReply ApiError(int status, const std::string& code, const std::string& message) {
  Json body = {{"error_code", code}, {"error_msg", message}};
  return JsonReply(status, body.dump());
}

// Splits "/v2/{project}/productmgr/jobs[/{job}]" into its parts; false when the path is not that shape.
bool ParseApiPath(const std::string& path, std::string& project, std::string& job) {
  const std::string prefix = "/v2/";
  if (!path.starts_with(prefix)) return false;
  size_t slash = path.find('/', prefix.size());
  if (slash == std::string::npos) return false;
  project = path.substr(prefix.size(), slash - prefix.size());
  std::string rest = path.substr(slash);
  const std::string jobs = "/productmgr/jobs";
  if (rest == jobs || rest == jobs + "/") {
    job.clear();
    return true;
  }
  if (!rest.starts_with(jobs + "/")) return false;
  job = rest.substr(jobs.size() + 1);
  return job.find('/') == std::string::npos;
}

}  // namespace

struct Simulator::GeneratedJob {
  int index = 0;
  std::string job_id;
  std::string job_name;
  std::string job_type;
  Plan plan = Plan::kSucceed;
  WallTime created_at;
  WallTime running_at;   // Waiting -> Running
  WallTime finished_at;  // Running -> final status
};

Simulator::Simulator(SimulatorOptions options, const Clock& clock)
    : options_(Bounded(std::move(options))),
      clock_(clock),
      start_time_(Now()),
      token_(options_.token),
      throttle_tokens_(std::max(1.0, options_.throttle_per_second)),
      throttle_refilled_at_(start_time_),
      consistency_(options_.consistency) {}

int Simulator::GeneratedJobCountAt(WallTime now) const {
  int count = options_.generated_jobs;
  const Duration every = options_.new_job_every;
  if (every.count() > 0 && now > start_time_) count += static_cast<int>((now - start_time_) / every);
  return count;
}

Simulator::GeneratedJob Simulator::MakeGeneratedJob(int i) const {
  static const char* const kTypes[] = {"deployment_deploy", "node_upgrade", "deployment_upgrade"};
  GeneratedJob job;
  job.index = i;
  job.job_id = Uuidish(i, 0x1ef);
  job.job_type = kTypes[i % 3];
  char name[64];
  std::snprintf(name, sizeof name, "%s-%03d", i % 3 == 1 ? "nightly-node-upgrade" : "rollout-app", i);
  job.job_name = name;
  job.plan = static_cast<Plan>(i % 4);
  // Initial jobs are staggered into the past so a fresh simulator already shows every phase; later jobs appear
  // one per new_job_every.
  const std::chrono::duration<double> phase = options_.phase;
  job.created_at = WholeSecond(i < options_.generated_jobs
                                   ? start_time_ - Span(phase * 0.4 * (options_.generated_jobs - i))
                                   : start_time_ + options_.new_job_every * (i - options_.generated_jobs + 1));
  job.running_at = job.created_at + Span(phase * 0.5);
  job.finished_at = job.running_at + Span(phase * (job.plan == Plan::kLongRunning ? 30 : 1 + (i % 3)));
  return job;
}

std::vector<Simulator::GeneratedJob> Simulator::GeneratedJobsAt(WallTime now) const {
  std::vector<GeneratedJob> jobs;
  for (int i = 0, count = GeneratedJobCountAt(now); i < count; ++i) {
    GeneratedJob job = MakeGeneratedJob(i);
    if (deleted_.count(job.job_id) == 0) jobs.push_back(std::move(job));
  }
  return jobs;
}

// The generated job with this id, found from the index its id encodes (so a lookup does not build every job).
std::optional<Simulator::GeneratedJob> Simulator::GeneratedJobById(const std::string& job_id, WallTime now) const {
  unsigned encoded = 0;
  if (job_id.size() != 36 || std::sscanf(job_id.c_str(), "%8x", &encoded) != 1 || encoded < 0x5e1a0000u) {
    return std::nullopt;
  }
  int index = static_cast<int>(encoded - 0x5e1a0000u);
  if (index >= GeneratedJobCountAt(now) || deleted_.count(job_id) != 0) return std::nullopt;
  GeneratedJob job = MakeGeneratedJob(index);
  if (job.job_id != job_id) return std::nullopt;
  return job;
}

std::string Simulator::RenderGeneratedJob(const GeneratedJob& job, WallTime now, View view,
                                          int64_t updated_at_shift) const {
  const int task_count = std::max(0, options_.tasks_per_job);
  Json tasks = Json::array();
  Json targets = Json::array();
  int succeeded = 0, failed = 0;
  WallTime last_change = job.created_at;
  for (int t = 0; t < task_count; ++t) {
    // Task t finishes at its share of the running phase; the plan decides which tasks fail.
    WallTime done_at = t == task_count - 1 ? job.finished_at
                                           : job.running_at + (job.finished_at - job.running_at) / task_count * (t + 1);
    bool fails = job.plan == Plan::kFail || (job.plan == Plan::kPartlyFail && t == task_count - 1);
    std::string status = now < job.running_at ? "Waiting" : now < done_at ? "Running" : fails ? "Failed" : "Successful";
    if (status == "Successful") ++succeeded;
    if (status == "Failed") ++failed;
    if (view == View::kSummary) continue;  // the list shows the counts only: a page of 1,000 jobs stays cheap
    std::string target_id = Uuidish(job.index * 100 + t, 0x7a6);
    char node[32];
    std::snprintf(node, sizeof node, "edge-node-%02d", (job.index + t) % 40);
    tasks.push_back({{"task_name", job.job_name + "-" + std::to_string(t)},
                     {"task_id", Uuidish(job.index * 100 + t, 0x7a5)},
                     {"target_id", target_id},
                     {"status", status},
                     {"created_at", ApiSeconds(job.running_at)},
                     {"reason", status == "Failed" ? kFailureReasons[(job.index + t) % 4] : ""},
                     {"extension_info", Json::array({{{"key", "deployment_id"}, {"value", Uuidish(t, job.index)}}})}});
    targets.push_back({{"target_id", target_id}, {"extension_info", Json::array({{{"key", "node_name"}, {"value", node}}})}});
  }
  std::string status;
  if (now < job.running_at) {
    status = "Waiting";
  } else if (now < job.finished_at) {
    status = "Running";
    last_change = job.running_at;
  } else {
    status = failed == 0 ? "Successful" : succeeded == 0 ? "Failed" : "Partially_successful";
    last_change = job.finished_at;
  }
  Json doc = {{"job_id", job.job_id},
              {"job_name", job.job_name},
              {"job_type", job.job_type},
              {"description", "generated by ief_simulator"},
              {"created_at", ApiSeconds(job.created_at)},
              {"status", status},
              {"task_total_count", task_count},
              {"task_failed_count", failed},
              {"task_success_count", succeeded},
              {"status_last_updated_at", ApiSeconds(last_change) - updated_at_shift}};
  if (view == View::kDetails) {
    doc["target_type"] = job.job_type == "node_upgrade" ? "node" : "deployment";
    doc["task_data"] = job.job_type == "node_upgrade" ? "" : "{\"deployment\":{\"replicas\":1}}";
    doc["tasks"] = std::move(tasks);
    doc["targets"] = std::move(targets);
  }
  return doc.dump();
}

std::vector<std::string> Simulator::JobIds() const {
  MutexLock lock(mutex_);
  std::vector<std::string> ids;
  for (const GeneratedJob& job : GeneratedJobsAt(Now())) ids.push_back(job.job_id);
  ids.insert(ids.end(), fixed_order_.begin(), fixed_order_.end());
  return ids;
}

void Simulator::PutFixedJob(const std::string& job_id, std::string document) {
  FixedJob job;
  job.put_at = Now();
  Json doc = Json::parse(document, nullptr, false);
  if (!doc.is_discarded() && doc.is_object()) {
    for (const char* detail : {"tasks", "targets", "task_data", "target_type"}) doc.erase(detail);
    job.list_item = doc.dump();
    if (doc.contains("created_at") && doc["created_at"].is_number_integer()) {
      job.created_at = doc["created_at"].get<int64_t>();
    }
    if (doc.contains("job_type") && doc["job_type"].is_string()) job.job_type = doc["job_type"].get<std::string>();
  }
  job.document = std::move(document);
  MutexLock lock(mutex_);
  if (auto it = fixed_jobs_.find(job_id); it == fixed_jobs_.end()) {
    fixed_order_.push_back(job_id);
  } else {
    it->second.previous.reset();  // one version back is enough
    job.previous = std::make_shared<const FixedJob>(std::move(it->second));
  }
  fixed_jobs_[job_id] = std::move(job);
  deleted_.erase(job_id);
}

ServerReply Simulator::PutFixedJobs(const std::string& body) {
  Json documents = Json::parse(body, nullptr, false);
  if (documents.is_discarded() || !documents.is_array()) {
    return ServerReply{400, "text/plain; charset=utf-8", "body must be a JSON array of job documents\n", {}};
  }
  for (const Json& document : documents) {
    std::string id = document.is_object() ? document.value("job_id", "") : "";
    if (!IsSafePathSegment(id)) {
      return ServerReply{400, "text/plain; charset=utf-8", "every document needs a valid job_id\n", {}};
    }
  }
  for (const Json& document : documents) PutFixedJob(document["job_id"].get<std::string>(), document.dump());
  return ServerReply{200, "text/plain; charset=utf-8", "ok\n", {}};
}

void Simulator::DeleteJob(const std::string& job_id) {
  MutexLock lock(mutex_);
  fixed_jobs_.erase(job_id);
  fixed_order_.erase(std::remove(fixed_order_.begin(), fixed_order_.end(), job_id), fixed_order_.end());
  deleted_.insert(job_id);
}

void Simulator::SetFault(const std::string& job_id, SimFault fault) {
  MutexLock lock(mutex_);
  faults_[job_id] = fault;
}

void Simulator::ClearFault(const std::string& job_id) {
  MutexLock lock(mutex_);
  faults_.erase(job_id);
}

void Simulator::SetConsistency(SimConsistency consistency) {
  MutexLock lock(mutex_);
  consistency_ = Bounded(consistency);
}

int64_t Simulator::BackwardsShift(const GeneratedJob& job, WallTime now) {
  if (!consistency_.timestamps_backwards || now < job.finished_at) return 0;
  int64_t& steps = backwards_steps_[job.job_id];
  steps = std::min<int64_t>(steps + 1, 9);
  return steps;
}

const Simulator::FixedJob& Simulator::FixedVersionForDetails(const FixedJob& job, WallTime now) const {
  if (job.previous && now - job.put_at < consistency_.details_lag) return *job.previous;
  return job;
}

void Simulator::SetToken(std::string token) {
  MutexLock lock(mutex_);
  token_ = std::move(token);
}

long Simulator::RequestCount(const std::string& key) const {
  MutexLock lock(mutex_);
  auto it = request_counts_.find(key);
  return it == request_counts_.end() ? 0 : it->second;
}

std::string Simulator::NextRequestId() {
  char buf[48];
  std::snprintf(buf, sizeof buf, "sim-%08lx", next_request_id_++);
  return buf;
}

std::vector<Route> Simulator::Routes() {
  RouteHandler handler = [this](const ServerRequest& request) { return Handle(request); };
  return {{"/v2/", handler}, {"/sim/", handler}, {"/v3/auth/tokens", handler}};
}

ServerReply Simulator::Handle(const ServerRequest& request) {
  if (request.path.starts_with("/sim/")) return HandleControl(request);
  if (request.path == "/v3/auth/tokens") return IssueIamToken(request);
  return HandleApi(request);
}

namespace {

ServerReply KeystoneError(int status, const std::string& message) {
  Json body = {{"error", {{"code", status}, {"message", message}, {"title", "Unauthorized"}}}};
  return JsonReply(status, body.dump());
}

// The value of `key=` in "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex".
std::string AuthorizationField(const std::string& authorization, const std::string& key) {
  size_t start = authorization.find(key + "=");
  if (start == std::string::npos) return "";
  start += key.size() + 1;
  size_t end = authorization.find(',', start);
  return authorization.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::optional<WallTime> ParseSdkDate(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y%m%dT%H%M%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return FromApiSeconds(timegm(&tm));
}

}  // namespace

namespace {

// expires_at and issued_at as IAM states them: the truth, or (skewed) an expiry `expires_in` from now and no
// issued_at, as from an IAM whose clock is far behind or that leaves the field out.
Json StatedTokenTimes(const SimIamTimes& times, WallTime now, WallTime expires) {
  if (times.skewed) return {{"expires_at", FormatIso8601Utc(now + times.expires_in)}};
  return {{"expires_at", FormatIso8601Utc(expires)}, {"issued_at", FormatIso8601Utc(now)}};
}

}  // namespace

ServerReply Simulator::IssueIamToken(const ServerRequest& request) {
  if (request.method != "POST") return KeystoneError(405, "method not allowed");
  Json body = Json::parse(request.body, nullptr, false);
  auto text = [&](const Json::json_pointer& pointer) -> std::string {
    if (body.is_discarded() || !body.contains(pointer) || !body.at(pointer).is_string()) return "";
    return body.at(pointer).get<std::string>();
  };
  const std::string user = text(Json::json_pointer("/auth/identity/password/user/name"));
  const std::string password = text(Json::json_pointer("/auth/identity/password/user/password"));
  const std::string domain = text(Json::json_pointer("/auth/identity/password/user/domain/name"));
  const std::string project_id = text(Json::json_pointer("/auth/scope/project/id"));
  const std::string project_name = text(Json::json_pointer("/auth/scope/project/name"));

  MutexLock lock(mutex_);
  if (user != options_.iam_user || password != options_.iam_password || domain != options_.iam_domain) {
    ++request_counts_["iam_rejected"];
    return KeystoneError(401, "The username or password is wrong.");
  }
  if (project_id != options_.project_id && project_name.empty()) {
    ++request_counts_["iam_rejected"];
    return KeystoneError(400, "The project is not found.");
  }
  const WallTime now = Now();
  const WallTime expires = now + options_.iam_token_lifetime;
  std::string token = "sim-iam-" + std::to_string(++request_counts_["iam_issued"]) + "-" + NextRequestId();
  iam_tokens_[token] = expires;  // honoured for the real lifetime, whatever the answer states
  Json answer = {{"token", StatedTokenTimes(iam_times_, now, expires)}};
  answer["token"]["methods"] = {"password"};
  answer["token"]["project"] = {{"id", options_.project_id}, {"name", project_name.empty() ? "region" : project_name}};
  answer["token"]["user"] = {{"name", user}, {"domain", {{"name", domain}}}};
  ServerReply reply = JsonReply(201, answer.dump());
  reply.headers.emplace_back("X-Subject-Token", token);
  return reply;
}

std::optional<ServerReply> Simulator::CheckCredentials(const ServerRequest& request, WallTime now) {
  const std::string authorization = request.Header("authorization");
  if (authorization.starts_with(std::string(kSdkSigningAlgorithm) + " ")) {
    return VerifySignature(request, authorization, now);
  }
  const std::string token = request.Header("x-auth-token");
  if (!token.empty() && token == token_) return std::nullopt;
  if (auto it = iam_tokens_.find(token); it != iam_tokens_.end()) {
    if (now < it->second) return std::nullopt;
    ++request_counts_["expired_token"];
    return ApiError(401, "APIGW.0301", "Incorrect IAM authentication information: the token has expired");
  }
  return ApiError(401, "APIGW.0301", "Incorrect IAM authentication information");
}

std::optional<ServerReply> Simulator::VerifySignature(const ServerRequest& request, const std::string& authorization,
                                                      WallTime now) {
  if (options_.access_key.empty() || AuthorizationField(authorization, "Access") != options_.access_key) {
    ++request_counts_["aksk_rejected"];
    return ApiError(401, "APIGW.0301", "Incorrect IAM authentication information: unknown access key");
  }
  std::optional<WallTime> signed_at = ParseSdkDate(request.Header("x-sdk-date"));
  if (!signed_at || std::chrono::abs(now - *signed_at) > std::chrono::minutes(15)) {
    ++request_counts_["aksk_rejected"];
    return ApiError(401, "APIGW.0303", "Incorrect app authentication information: request expired");
  }
  std::vector<std::string> signed_headers;
  std::string list = AuthorizationField(authorization, "SignedHeaders");
  for (size_t start = 0; start <= list.size();) {
    size_t semicolon = list.find(';', start);
    signed_headers.push_back(list.substr(start, semicolon == std::string::npos ? std::string::npos : semicolon - start));
    if (semicolon == std::string::npos) break;
    start = semicolon + 1;
  }
  HttpRequest rebuilt;
  std::optional<HttpMethod> method = ParseHttpMethod(request.method);  // one no client of ours sends cannot match
  rebuilt.method = method.value_or(HttpMethod::kGet);
  rebuilt.url = "http://" + request.Header("host") + request.path + (request.query.empty() ? "" : "?" + request.query);
  for (const auto& [name, value] : request.headers) rebuilt.headers.emplace_back(name, value);
  rebuilt.body = request.body;
  Result<std::string> expected = AuthorizationHeader(rebuilt, signed_headers, options_.access_key, options_.secret_key);
  if (!method || !expected.ok() || *expected != authorization) {
    ++request_counts_["aksk_rejected"];
    return ApiError(401, "APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail");
  }
  ++request_counts_["aksk_verified"];
  return std::nullopt;
}

std::optional<ServerReply> Simulator::Throttle(WallTime now) {
  const double rate = options_.throttle_per_second;
  if (rate <= 0) return std::nullopt;
  const double capacity = std::max(1.0, rate);
  throttle_tokens_ = std::min(capacity, throttle_tokens_ + Seconds(now - throttle_refilled_at_) * rate);
  throttle_refilled_at_ = now;
  if (throttle_tokens_ >= 1) {
    throttle_tokens_ -= 1;
    return std::nullopt;
  }
  ++request_counts_["throttled"];
  ServerReply reply = ApiError(429, "APIGW.0308",
                               "The throttling threshold has been reached: policy user over ratelimit, limit:" +
                                   std::to_string(static_cast<long>(std::ceil(rate * 60))) + ", time:1 minute");
  long wait = std::max(1L, static_cast<long>(std::ceil((1 - throttle_tokens_) / rate)));
  reply.headers.emplace_back("Retry-After", std::to_string(wait));
  return reply;
}

ServerReply Simulator::HandleApi(const ServerRequest& request) {
  std::string project, job_id, request_id;
  std::optional<SimFault> fault;
  {
    MutexLock lock(mutex_);
    request_id = NextRequestId();
    std::optional<ServerReply> refused = Throttle(Now());
    if (!refused && (!ParseApiPath(request.path, project, job_id) || request.method != "GET")) {
      refused = ApiError(400, "IEF.011002", "API not registered");
    }
    if (!refused) {
      ++request_counts_[job_id.empty() ? "list" : "show"];
      if (!job_id.empty()) ++request_counts_[job_id];
      for (const std::string& key : {job_id, std::string("*")}) {
        if (auto it = faults_.find(key); it != faults_.end() && !fault) fault = it->second;
      }
      refused = CheckCredentials(request, Now());
    }
    if (refused) {
      refused->headers.emplace_back("X-Request-Id", request_id);
      return *refused;
    }
  }
  ServerReply reply;
  if (project != options_.project_id) {
    reply = ApiError(400, "IEF.100001", "project id not found");
  } else {
    reply = job_id.empty() ? ListJobs(request) : ShowJob(job_id);
  }
  if (fault) reply = ApplyFault(*fault, std::move(reply));
  reply.headers.emplace_back("X-Request-Id", request_id);
  return reply;
}

ServerReply Simulator::ApplyFault(const SimFault& fault, ServerReply normal) {
  switch (fault.kind) {
    case SimFault::Kind::kHttp500:
      return ApiError(500, "IEF.000500", "internal server error");
    case SimFault::Kind::kHttp429: {
      ServerReply reply = ApiError(
          429, "APIGW.0308",
          "The throttling threshold has been reached: policy user over ratelimit, limit:100, time:1 minute");
      reply.headers.emplace_back("Retry-After", std::to_string(fault.retry_after_s));
      return reply;
    }
    case SimFault::Kind::kGarbage:
      return ServerReply{200, "text/html", "<html><body>502 Bad Gateway</body></html>", {}};
    case SimFault::Kind::kTruncated:
      normal.body.resize(normal.body.size() / 2);
      return normal;
    case SimFault::Kind::kDelay:
      std::this_thread::sleep_for(std::chrono::milliseconds(fault.delay_ms));
      return normal;
    case SimFault::Kind::kEndless:
      return EndlessAnswer();
    case SimFault::Kind::kDrip:
      return Dripping(std::move(normal));
  }
  return normal;
}

ServerReply Simulator::EndlessAnswer() {
  ServerReply reply{200, kJsonType, "{\"job_id\":", {}};
  auto sent = std::make_shared<size_t>(0);
  reply.next_chunk = [sent](std::string& chunk) {
    constexpr size_t kChunk = 64 * 1024, kMostBytes = size_t{4} << 30;
    chunk.assign(kChunk, ' ');
    *sent += kChunk;
    return *sent < kMostBytes;
  };
  return reply;
}

ServerReply Simulator::Dripping(ServerReply normal) {
  auto body = std::make_shared<std::string>(std::move(normal.body));
  auto next = std::make_shared<size_t>(0);
  normal.body.clear();
  normal.next_chunk = [body, next](std::string& chunk) {
    if (*next >= body->size()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    chunk.assign(1, (*body)[(*next)++]);
    return *next < body->size();
  };
  return normal;
}

ServerReply Simulator::ShowJob(const std::string& job_id) {
  MutexLock lock(mutex_);
  const WallTime now = Now();
  if (auto it = fixed_jobs_.find(job_id); it != fixed_jobs_.end()) {
    return JsonReply(200, FixedVersionForDetails(it->second, now).document);
  }
  if (std::optional<GeneratedJob> job = GeneratedJobById(job_id, now)) {
    const WallTime seen_at = now - consistency_.details_lag;
    return JsonReply(200, RenderGeneratedJob(*job, seen_at, View::kDetails, BackwardsShift(*job, now)));
  }
  return ApiError(404, "IEF.011404", "batch job " + job_id + " not found");
}

ServerReply Simulator::ListJobs(const ServerRequest& request) {
  long limit = 10, offset = 0;
  try {
    if (auto v = request.QueryParam("limit")) limit = std::stol(*v);
    if (auto v = request.QueryParam("offset")) offset = std::stol(*v);
  } catch (const std::exception&) {
    return ApiError(400, "IEF.100005", "invalid limit or offset");
  }
  if (limit < 1 || limit > 1000) return ApiError(400, "IEF.100005", "invalid limit");
  if (options_.max_page_size > 0) limit = std::min(limit, options_.max_page_size);
  if (offset < 0) return ApiError(400, "IEF.100004", "invalid offset");
  std::optional<std::string> job_type = request.QueryParam("job_type");

  MutexLock lock(mutex_);
  if (list_quirks_.ignore_offset) offset = 0;
  const WallTime now = Now();
  struct Item {
    int64_t created_at;
    std::string text;
  };
  std::vector<Item> items;
  const bool duplicates = consistency_.duplicate_list_items;
  const WallTime::duration duplicate_age =
      std::max<WallTime::duration>(std::chrono::seconds(30), consistency_.details_lag);
  for (const GeneratedJob& job : GeneratedJobsAt(now)) {
    if (job_type && job.job_type != *job_type) continue;
    const int64_t created_at = ApiSeconds(job.created_at);
    items.push_back({created_at, RenderGeneratedJob(job, now, View::kSummary, BackwardsShift(job, now))});
    if (duplicates && job.created_at <= now - duplicate_age) {
      items.push_back({created_at, RenderGeneratedJob(job, now - duplicate_age, View::kSummary)});
    }
  }
  for (const std::string& id : fixed_order_) {
    const FixedJob& job = fixed_jobs_[id];
    if (job.list_item.empty() || (job_type && job.job_type != *job_type)) continue;
    items.push_back({job.created_at, job.list_item});
    if (duplicates && job.previous && !job.previous->list_item.empty()) {
      items.push_back({job.created_at, job.previous->list_item});
    }
  }
  // Newest first, as the API's default sort (created_at:desc); the `unsorted` quirk serves the opposite.
  const bool newest_first = !list_quirks_.unsorted;
  std::stable_sort(items.begin(), items.end(), [newest_first](const Item& a, const Item& b) {
    return newest_first ? a.created_at > b.created_at : a.created_at < b.created_at;
  });
  std::string body = "{" + JobCountMember(items.size()) + "\"jobs\":[";
  for (long i = offset; i < static_cast<long>(items.size()) && i < offset + limit; ++i) {
    if (i > offset) body += ',';
    body += items[i].text;
  }
  body += "]}";
  return JsonReply(200, std::move(body));
}

std::string Simulator::JobCountMember(size_t real_count) const {
  if (!list_quirks_.state_count) return "\"job_count\":" + std::to_string(real_count) + ",";
  if (!list_quirks_.stated_count) return "";
  return "\"job_count\":" + std::to_string(*list_quirks_.stated_count) + ",";
}

void Simulator::SetListQuirks(const SimListQuirks& quirks) {
  MutexLock lock(mutex_);
  list_quirks_ = quirks;
}

void Simulator::SetIamTimes(const SimIamTimes& times) {
  MutexLock lock(mutex_);
  iam_times_ = times;
}

namespace {

// {"ignore_offset": true, "unsorted": true, "job_count": 1000000000000 | null}: job_count null leaves it out, no
// job_count key states the real one.
Result<SimListQuirks> ParseListQuirks(const std::string& body) {
  Json doc = Json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Error(ErrorKind::kInvalidArgument, "body must be a JSON object");
  SimListQuirks quirks;
  for (auto [key, flag] : {std::pair{"ignore_offset", &quirks.ignore_offset}, std::pair{"unsorted", &quirks.unsorted}}) {
    if (!doc.contains(key)) continue;
    if (!doc[key].is_boolean()) return Error(ErrorKind::kInvalidArgument, std::string(key) + " must be true or false");
    *flag = doc[key].get<bool>();
  }
  if (doc.contains("job_count")) {
    const Json& count = doc["job_count"];
    if (!count.is_null() && !count.is_number_integer()) {
      return Error(ErrorKind::kInvalidArgument, "job_count must be an integer or null");
    }
    quirks.state_count = true;
    if (count.is_number_integer()) quirks.stated_count = count.get<int64_t>();
  }
  return quirks;
}

// {"expires_in": -3600}: seconds from now to the stated expiry.
Result<SimIamTimes> ParseIamTimes(const std::string& body) {
  Json doc = Json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("expires_in") || !doc["expires_in"].is_number()) {
    return Error(ErrorKind::kInvalidArgument, "body must be {\"expires_in\": SECONDS}");
  }
  // (Bounded, so any number is a time point the clock can hold.)
  const double seconds = std::clamp(doc["expires_in"].get<double>(), -1e9, 1e9);
  return SimIamTimes{.skewed = true, .expires_in = std::chrono::seconds(static_cast<int64_t>(seconds))};
}

Result<SimFault> ParseFault(const std::string& body) {
  Json doc = Json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Error(ErrorKind::kInvalidArgument, "fault must be a JSON object");
  static const std::map<std::string, SimFault::Kind> kKinds = {{"http_500", SimFault::Kind::kHttp500},
                                                               {"http_429", SimFault::Kind::kHttp429},
                                                               {"garbage", SimFault::Kind::kGarbage},
                                                               {"truncated", SimFault::Kind::kTruncated},
                                                               {"delay", SimFault::Kind::kDelay},
                                                               {"endless", SimFault::Kind::kEndless},
                                                               {"drip", SimFault::Kind::kDrip}};
  auto kind = kKinds.find(doc.value("kind", ""));
  if (kind == kKinds.end()) {
    return Error(ErrorKind::kInvalidArgument,
                 "kind must be http_500, http_429, garbage, truncated, delay, endless or drip");
  }
  SimFault fault;
  fault.kind = kind->second;
  fault.delay_ms = doc.value("delay_ms", 0);
  fault.retry_after_s = doc.value("retry_after", 2);
  return fault;
}

Result<SimConsistency> ParseConsistency(const std::string& body) {
  Json doc = Json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Error(ErrorKind::kInvalidArgument, "consistency must be a JSON object");
  }
  SimConsistency consistency;
  try {
    consistency.details_lag = std::chrono::milliseconds(doc.value("details_lag_ms", 0));
    consistency.duplicate_list_items = doc.value("duplicate_list_items", false);
    consistency.timestamps_backwards = doc.value("timestamps_backwards", false);
  } catch (const Json::exception&) {
    return Error(ErrorKind::kInvalidArgument,
                 "details_lag_ms is a number, duplicate_list_items and timestamps_backwards are booleans");
  }
  return consistency;
}

ServerReply TextReply(int status, std::string text) { return ServerReply{status, "text/plain; charset=utf-8", text + "\n", {}}; }

}  // namespace

ServerReply Simulator::HandleControl(const ServerRequest& request) {
  const std::string& path = request.path;
  auto tail = [&](const std::string& prefix) { return path.substr(prefix.size()); };
  if (path == "/sim/jobs" && request.method == "GET") {
    Json ids = JobIds();
    return JsonReply(200, ids.dump());
  }
  if (path == "/sim/jobs" && request.method == "POST") return PutFixedJobs(request.body);
  if (path.starts_with("/sim/jobs/")) {
    std::string id = tail("/sim/jobs/");
    if (!IsSafePathSegment(id)) return TextReply(400, "bad job id");
    if (request.method == "PUT") {
      PutFixedJob(id, request.body);
      return TextReply(200, "ok");
    }
    if (request.method == "DELETE") {
      DeleteJob(id);
      return TextReply(200, "ok");
    }
  }
  if (path.starts_with("/sim/faults/")) {
    std::string id = tail("/sim/faults/");
    if (request.method == "PUT") {
      Result<SimFault> fault = ParseFault(request.body);
      if (!fault.ok()) return TextReply(400, fault.error().message);
      SetFault(id, *fault);
      return TextReply(200, "ok");
    }
    if (request.method == "DELETE") {
      ClearFault(id);
      return TextReply(200, "ok");
    }
  }
  if (path == "/sim/consistency" && request.method == "PUT") {
    Result<SimConsistency> consistency = ParseConsistency(request.body);
    if (!consistency.ok()) return TextReply(400, consistency.error().message);
    SetConsistency(*consistency);
    return TextReply(200, "ok");
  }
  if (path == "/sim/token" && request.method == "PUT") {
    SetToken(std::string(TrimTrailingWhitespace(request.body)));
    return TextReply(200, "ok");
  }
  if (path == "/sim/list" && (request.method == "PUT" || request.method == "DELETE")) {
    Result<SimListQuirks> quirks = request.method == "PUT" ? ParseListQuirks(request.body) : SimListQuirks{};
    if (!quirks.ok()) return TextReply(400, quirks.error().message);
    SetListQuirks(*quirks);
    return TextReply(200, "ok");
  }
  if (path == "/sim/iam" && (request.method == "PUT" || request.method == "DELETE")) {
    Result<SimIamTimes> times = request.method == "PUT" ? ParseIamTimes(request.body) : SimIamTimes{};
    if (!times.ok()) return TextReply(400, times.error().message);
    SetIamTimes(*times);
    return TextReply(200, "ok");
  }
  if (path.starts_with("/sim/requests/") && request.method == "GET") {
    return TextReply(200, std::to_string(RequestCount(tail("/sim/requests/"))));
  }
  return TextReply(404, "unknown simulator control path");
}

}  // namespace ief
