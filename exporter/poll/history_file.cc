#include "poll/history_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>

#include "util/crypto.h"
#include "util/file.h"
#include "util/text.h"

namespace ief {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kFormat = "ief_exporter history";
// The document is seven levels deep at most (root, projects, project, jobs, job, tasks, finished rows): anything
// deeper is not this format, and is refused before it is parsed.
constexpr int kMaxDepth = 8;
// Texts the API gave (statuses, reason classes, target ids) are kept this long at most.
constexpr size_t kMaxTextBytes = 1024;

std::string Dump(const Json& json) { return json.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json Optional(const std::optional<int64_t>& value) { return value ? Json(*value) : Json(nullptr); }

Json EncodeTasks(const TaskBaseline& tasks) {
  Json finished = Json::array();
  for (const auto& [key, count] : tasks.finished) finished.push_back(Json::array({key.first, key.second, count}));
  return Json{{"job_updated_at", Optional(tasks.job_updated_at)},
              {"finished", std::move(finished)},
              {"failed_targets", tasks.failed_targets ? Json(*tasks.failed_targets) : Json(nullptr)},
              {"retried_at", Optional(tasks.retried_at)}};
}

Json EncodeJob(const JobHistory& history) {
  Json job = Json::object();
  if (history.counted) {
    job["status"] = history.counted->status;
    job["updated_at"] = Optional(history.counted->updated_at);
    job["created_at"] = Optional(history.counted->created_at);
  }
  if (history.tasks) job["tasks"] = EncodeTasks(*history.tasks);
  if (history.tasks_from_zero) job["tasks_from_zero"] = true;
  if (history.news_after) job["news_after"] = *history.news_after;
  return job;
}

// ---- Decoding: every value checked ----

// Thrown inside the decoder only, turned into an Error at its edge.
struct Invalid {
  std::string what;
};

const Json& Member(const Json& object, const char* name) {
  if (!object.is_object()) throw Invalid{"expected an object holding \"" + std::string(name) + "\""};
  auto it = object.find(name);
  if (it == object.end()) throw Invalid{"missing \"" + std::string(name) + "\""};
  return *it;
}

int64_t Integer(const Json& value, const char* what) {
  if (!value.is_number_integer()) throw Invalid{std::string(what) + " is not an integer"};
  // Written as unsigned when it does not fit a signed 64-bit integer: no such value was ever saved.
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    throw Invalid{std::string(what) + " is out of range"};
  }
  return value.get<int64_t>();
}

// An API time or a time history started: seconds since the epoch, before the year 2242.
int64_t Time(const Json& value, const char* what) {
  const int64_t seconds = Integer(value, what);
  if (seconds < 0 || seconds >= (int64_t{1} << 33)) throw Invalid{std::string(what) + " is not a plausible time"};
  return seconds;
}

// A time that may be null (the API left it out).
std::optional<int64_t> OptionalTime(const Json& object, const char* name) {
  const Json& value = Member(object, name);
  if (value.is_null()) return std::nullopt;
  return Time(value, name);
}

std::string Text(const Json& value, const char* what) {
  if (!value.is_string()) throw Invalid{std::string(what) + " is not a string"};
  std::string text = value.get<std::string>();
  if (text.size() > kMaxTextBytes) throw Invalid{std::string(what) + " is too long"};
  return text;
}

std::string Id(const std::string& text, const char* what) {
  if (!IsSafePathSegment(text)) throw Invalid{std::string(what) + " is not a valid id"};
  return text;
}

TaskBaseline DecodeTasks(const Json& json) {
  TaskBaseline tasks;
  tasks.job_updated_at = OptionalTime(json, "job_updated_at");
  tasks.retried_at = OptionalTime(json, "retried_at");
  const Json& finished = Member(json, "finished");
  if (!finished.is_array()) throw Invalid{"finished is not an array"};
  for (const Json& row : finished) {
    if (!row.is_array() || row.size() != 3) throw Invalid{"a finished row is not [status, reason_class, count]"};
    const int64_t count = Integer(row[2], "a finished count");
    if (count < 0) throw Invalid{"a finished count is negative"};
    tasks.finished[{Text(row[0], "a task status"), Text(row[1], "a reason class")}] = count;
  }
  const Json& targets = Member(json, "failed_targets");
  if (targets.is_null()) return tasks;  // not known: node failures were not counted
  if (!targets.is_array()) throw Invalid{"failed_targets is not an array"};
  tasks.failed_targets.emplace();
  for (const Json& target : targets) tasks.failed_targets->push_back(Text(target, "a failed target"));
  std::sort(tasks.failed_targets->begin(), tasks.failed_targets->end());
  return tasks;
}

JobHistory DecodeJob(const Json& json) {
  JobHistory history;
  if (!json.is_object()) throw Invalid{"a job is not an object"};
  if (json.contains("status")) {
    history.counted = StatusView{.status = Text(json["status"], "a status"),
                                 .updated_at = OptionalTime(json, "updated_at"),
                                 .created_at = OptionalTime(json, "created_at"),
                                 .source = ViewSource::kStored};
  }
  if (json.contains("tasks")) history.tasks = DecodeTasks(json["tasks"]);
  if (json.contains("tasks_from_zero")) {
    if (!json["tasks_from_zero"].is_boolean()) throw Invalid{"tasks_from_zero is not a boolean"};
    history.tasks_from_zero = json["tasks_from_zero"].get<bool>();
  }
  if (json.contains("news_after")) history.news_after = Time(json["news_after"], "news_after");
  return history;
}

ProjectHistory DecodeProject(const Json& json) {
  ProjectHistory project;
  project.since = Time(Member(json, "since"), "since");
  project.first_views_after = Time(Member(json, "first_views_after"), "first_views_after");
  project.watermark = Time(Member(json, "watermark"), "watermark");
  const Json& jobs = Member(json, "jobs");
  if (!jobs.is_object()) throw Invalid{"jobs is not an object"};
  for (const auto& [job_id, job] : jobs.items()) project.jobs[Id(job_id, "a job id")] = DecodeJob(job);
  return project;
}

HistoryState DecodeState(const Json& json) {
  HistoryState state;
  state.shard = static_cast<int>(Integer(Member(json, "shard"), "shard"));
  state.total_shards = static_cast<int>(Integer(Member(json, "total_shards"), "total_shards"));
  if (state.total_shards < 1 || state.shard < 0 || state.shard >= state.total_shards) {
    throw Invalid{"shard is not within total_shards"};
  }
  const Json& projects = Member(json, "projects");
  if (!projects.is_object()) throw Invalid{"projects is not an object"};
  for (const auto& [project_id, project] : projects.items()) {
    state.projects[Id(project_id, "a project id")] = DecodeProject(project);
  }
  return state;
}

// How deep arrays and objects nest in `text`, read once from start to end (strings and their escapes skipped), so
// that a hostile file is refused before a parser builds anything of it.
int NestingDepth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

Json ParseBounded(std::string_view text) {
  if (NestingDepth(text) > kMaxDepth) throw Invalid{"nested deeper than the format"};
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) throw Invalid{"not JSON"};
  return json;
}

}  // namespace

std::string EncodeHistory(const HistoryState& state) {
  Json projects = Json::object();
  for (const auto& [project_id, project] : state.projects) {
    Json jobs = Json::object();
    for (const auto& [job_id, job] : project.jobs) jobs[job_id] = EncodeJob(job);
    projects[project_id] = Json{{"since", project.since},
                                {"first_views_after", project.first_views_after},
                                {"watermark", project.watermark},
                                {"jobs", std::move(jobs)}};
  }
  Json document{{"format", kFormat},
                {"version", kHistoryFileVersion},
                {"shard", state.shard},
                {"total_shards", state.total_shards},
                {"projects", std::move(projects)}};
  document["sha256"] = crypto::Sha256Hex(Dump(document));
  return Dump(document) + "\n";
}

Result<HistoryState> DecodeHistory(std::string_view text) {
  try {
    Json document = ParseBounded(text);
    if (!document.is_object()) throw Invalid{"not a JSON object"};
    if (!document.contains("format") || document["format"] != kFormat) throw Invalid{"not an ief_exporter state file"};
    const int64_t version = Integer(Member(document, "version"), "version");
    if (version != kHistoryFileVersion) {
      throw Invalid{"version " + std::to_string(version) + " (this exporter reads version " +
                    std::to_string(kHistoryFileVersion) + ")"};
    }
    const std::string checksum = Text(Member(document, "sha256"), "sha256");
    document.erase("sha256");
    if (checksum != crypto::Sha256Hex(Dump(document))) throw Invalid{"checksum mismatch (damaged)"};
    return DecodeState(document);
  } catch (const Invalid& invalid) {
    return Error(ErrorKind::kParse, invalid.what);
  } catch (const Json::exception& error) {  // a type nlohmann could not convert
    return Error(ErrorKind::kParse, error.what());
  }
}

Result<HistoryState> ReadHistoryFile(const std::string& path) {
  Result<std::string> text = ReadFileCapped(path, kMaxHistoryFileBytes);
  if (!text.ok()) return text.error();
  Result<HistoryState> state = DecodeHistory(*text);
  if (!state.ok()) return Error(ErrorKind::kParse, path + ": " + state.error().message);
  return state;
}

Status WriteHistoryFile(const std::string& path, const HistoryState& state) {
  return WriteFileAtomically(path, EncodeHistory(state));
}

}  // namespace ief
