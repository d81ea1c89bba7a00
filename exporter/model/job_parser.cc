#include "model/job_parser.h"

#include <simdjson.h>

#include <cmath>

namespace ief {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

Error FieldError(std::string_view path, std::string_view expected) {
  return Error(ErrorKind::kParse, "field " + std::string(path) + ": expected " + std::string(expected));
}

// Each Read* returns an error message for a present, non-null value of the wrong type.
// Absent and null values leave `out` untouched.

std::optional<Error> ReadString(const element& value, std::string_view path, std::string& out) {
  if (value.is_null()) return std::nullopt;
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return FieldError(path, "a string");
  out.assign(text);
  return std::nullopt;
}

std::optional<Error> ReadInteger(const element& value, std::string_view path, std::optional<int64_t>& out) {
  switch (value.type()) {
    case element_type::NULL_VALUE:
      return std::nullopt;
    case element_type::INT64:
      out = int64_t(value);
      return std::nullopt;
    case element_type::UINT64: {
      uint64_t v = uint64_t(value);
      if (v > uint64_t(INT64_MAX)) return FieldError(path, "an integer in range");
      out = static_cast<int64_t>(v);
      return std::nullopt;
    }
    case element_type::DOUBLE: {
      // Some gateways re-encode integers as 1.6e9: accept whole numbers, refuse fractions.
      double d = double(value);
      if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9.0e18) return FieldError(path, "an integer");
      out = static_cast<int64_t>(d);
      return std::nullopt;
    }
    default:
      return FieldError(path, "an integer");
  }
}

std::optional<Error> ReadExtensionInfo(const element& value, std::string_view path,
                                       std::vector<ExtensionInfo>& out) {
  if (value.is_null()) return std::nullopt;
  simdjson::dom::array items;
  if (value.get_array().get(items) != simdjson::SUCCESS) return FieldError(path, "an array");
  for (element item : items) {
    object pair;
    if (item.get_object().get(pair) != simdjson::SUCCESS) return FieldError(path, "an array of {key, value}");
    ExtensionInfo info;
    for (auto field : pair) {
      std::optional<Error> error;
      if (field.key == "key") error = ReadString(field.value, "extension_info.key", info.key);
      if (field.key == "value") error = ReadString(field.value, "extension_info.value", info.value);
      if (error) return error;
    }
    out.push_back(std::move(info));
  }
  return std::nullopt;
}

std::optional<Error> ReadTask(const element& value, BatchTask& task) {
  object fields;
  if (value.get_object().get(fields) != simdjson::SUCCESS) return FieldError("tasks[]", "an object");
  for (auto field : fields) {
    const std::string_view key = field.key;
    std::optional<Error> error;
    if (key == "task_id") error = ReadString(field.value, "tasks[].task_id", task.task_id);
    else if (key == "task_name") error = ReadString(field.value, "tasks[].task_name", task.task_name);
    else if (key == "status") error = ReadString(field.value, "tasks[].status", task.status);
    else if (key == "reason") error = ReadString(field.value, "tasks[].reason", task.reason);
    else if (key == "created_at") error = ReadInteger(field.value, "tasks[].created_at", task.created_at);
    else if (key == "target_id") error = ReadString(field.value, "tasks[].target_id", task.target_id);
    else if (key == "extension_info") error = ReadExtensionInfo(field.value, "tasks[].extension_info", task.extension_info);
    if (error) return error;
  }
  return std::nullopt;
}

std::optional<Error> ReadTarget(const element& value, BatchTarget& target) {
  object fields;
  if (value.get_object().get(fields) != simdjson::SUCCESS) return FieldError("targets[]", "an object");
  for (auto field : fields) {
    std::optional<Error> error;
    if (field.key == "target_id") error = ReadString(field.value, "targets[].target_id", target.target_id);
    else if (field.key == "extension_info") {
      error = ReadExtensionInfo(field.value, "targets[].extension_info", target.extension_info);
    }
    if (error) return error;
  }
  return std::nullopt;
}

// Reads an array field element by element with `read_one`.
template <typename T, typename ReadOne>
std::optional<Error> ReadArray(const element& value, std::string_view path, std::vector<T>& out, ReadOne read_one) {
  if (value.is_null()) return std::nullopt;
  simdjson::dom::array items;
  if (value.get_array().get(items) != simdjson::SUCCESS) return FieldError(path, "an array");
  out.reserve(items.size());
  for (element item : items) {
    T parsed;
    if (auto error = read_one(item, parsed)) return error;
    out.push_back(std::move(parsed));
  }
  return std::nullopt;
}

std::optional<Error> ReadJobField(std::string_view key, const element& value, BatchJob& job) {
  if (key == "job_id") return ReadString(value, "job_id", job.job_id);
  if (key == "job_name") return ReadString(value, "job_name", job.job_name);
  if (key == "job_type") return ReadString(value, "job_type", job.job_type);
  if (key == "description") return ReadString(value, "description", job.description);
  if (key == "created_at") return ReadInteger(value, "created_at", job.created_at);
  if (key == "status") return ReadString(value, "status", job.status);
  if (key == "task_total_count") return ReadInteger(value, "task_total_count", job.task_total_count);
  if (key == "task_failed_count") return ReadInteger(value, "task_failed_count", job.task_failed_count);
  if (key == "task_success_count") return ReadInteger(value, "task_success_count", job.task_success_count);
  if (key == "target_type") return ReadString(value, "target_type", job.target_type);
  if (key == "task_data") return ReadString(value, "task_data", job.task_data);
  if (key == "status_last_updated_at") return ReadInteger(value, "status_last_updated_at", job.status_last_updated_at);
  if (key == "tasks") {
    job.has_tasks = !value.is_null();
    return ReadArray(value, "tasks", job.tasks, ReadTask);
  }
  if (key == "targets") return ReadArray(value, "targets", job.targets, ReadTarget);
  return std::nullopt;  // unknown fields are ignored: the API may add some at any time
}

Result<BatchJob> ReadJob(const element& value) {
  object fields;
  if (value.get_object().get(fields) != simdjson::SUCCESS) return FieldError("job", "an object");
  BatchJob job;
  for (auto field : fields) {
    if (auto error = ReadJobField(field.key, field.value, job)) return *error;
  }
  return job;
}

}  // namespace

struct JobParser::Impl {
  simdjson::dom::parser parser;

  Result<element> Parse(std::string_view body) {
    element root;
    auto error = parser.parse(body.data(), body.size()).get(root);
    if (error) return Error(ErrorKind::kParse, std::string("invalid JSON: ") + simdjson::error_message(error));
    return root;
  }
};

JobParser::JobParser() : impl_(std::make_unique<Impl>()) {}
JobParser::~JobParser() = default;

Result<BatchJob> JobParser::ParseShowBatchJob(std::string_view body) {
  Result<element> root = impl_->Parse(body);
  if (!root.ok()) return root.error();
  Result<BatchJob> job = ReadJob(*root);
  if (job.ok() && job->job_id.empty()) return Error(ErrorKind::kParse, "field job_id: missing");
  return job;
}

Result<BatchJobList> JobParser::ParseListBatchJob(std::string_view body) {
  Result<element> root = impl_->Parse(body);
  if (!root.ok()) return root.error();
  object fields;
  if (root->get_object().get(fields) != simdjson::SUCCESS) return FieldError("list", "an object");
  BatchJobList list;
  for (auto field : fields) {
    std::optional<Error> error;
    if (field.key == "job_count") error = ReadInteger(field.value, "job_count", list.job_count);
    if (field.key == "jobs") {
      error = ReadArray(field.value, "jobs", list.jobs, [](const element& item, BatchJob& job) -> std::optional<Error> {
        Result<BatchJob> parsed = ReadJob(item);
        if (!parsed.ok()) return parsed.error();
        job = std::move(parsed).value();
        return std::nullopt;
      });
    }
    if (error) return *error;
  }
  return list;
}

std::optional<ApiErrorBody> JobParser::ParseApiError(std::string_view body) {
  Result<element> root = impl_->Parse(body);
  if (!root.ok()) return std::nullopt;
  object fields;
  if (root->get_object().get(fields) != simdjson::SUCCESS) return std::nullopt;
  ApiErrorBody out;
  for (auto field : fields) {
    if (field.key == "error_code") (void)ReadString(field.value, "error_code", out.error_code);
    if (field.key == "error_msg") (void)ReadString(field.value, "error_msg", out.error_msg);
  }
  if (out.error_code.empty() && out.error_msg.empty()) return std::nullopt;
  return out;
}

}  // namespace ief
