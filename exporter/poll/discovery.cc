#include "poll/discovery.h"

#include <algorithm>
#include <limits>

namespace ief {

DiscoveryFilter::DiscoveryFilter(const DiscoveryConfig& config)
    : job_types_(config.job_types), max_age_(config.max_age) {
  // The config loader already compiled the regex once to validate it.
  if (!config.name_regex.empty()) name_regex_.emplace(config.name_regex, std::regex::ECMAScript);
}

bool DiscoveryFilter::Matches(const BatchJob& summary, WallTime now) const {
  if (!job_types_.empty() &&
      std::find(job_types_.begin(), job_types_.end(), summary.job_type) == job_types_.end()) {
    return false;
  }
  if (name_regex_ && (summary.job_name.size() > kMaxMatchedNameLength ||
                      !std::regex_match(summary.job_name, *name_regex_))) {
    return false;
  }
  if (max_age_ && summary.created_at &&
      FromApiSeconds(*summary.created_at) < now - *max_age_) {
    return false;
  }
  return true;
}

std::string DescribeFilter(const DiscoveryConfig& config) {
  if (!config.enabled) return "off";
  // Each part with its length in front, so that no two different configs read the same.
  std::string description = "types:" + std::to_string(config.job_types.size());
  for (const std::string& type : config.job_types) description += ";" + std::to_string(type.size()) + ":" + type;
  description += ";regex:" + std::to_string(config.name_regex.size()) + ":" + config.name_regex;
  if (config.max_age) description += ";max_age:" + std::to_string(config.max_age->count());
  return description;
}

uint64_t JobIdHash(std::string_view job_id) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64-bit offset basis
  for (unsigned char c : job_id) {
    hash ^= c;
    hash *= 1099511628211ULL;  // FNV-1a 64-bit prime
  }
  return hash;
}

bool InShard(std::string_view job_id, int shard, int total_shards) {
  if (total_shards <= 1) return true;
  return JobIdHash(job_id) % static_cast<uint64_t>(total_shards) == static_cast<uint64_t>(shard);
}

Fetched<BatchJobList> ListAllJobs(const PageReader& read_page, long page_size, long max_pages) {
  BatchJobList all;
  long offset = 0;
  for (long page = 0; page < max_pages; ++page) {
    Fetched<BatchJobList> result = read_page(offset, page_size);
    if (!result.ok()) return result.error();
    all.job_count = result->job_count;
    long received = static_cast<long>(result->jobs.size());
    // Only the summary is kept: a description or a task_data document is never used, and the whole list is in
    // memory until it is applied.
    for (const BatchJob& job : result->jobs) {
      all.jobs.push_back(SummaryOf(job));
      all.jobs.back().has_tasks = false;  // tasks a list item might carry are not kept: it is no job's details
    }
    offset += received;
    // Done when the server says we have everything, or when it has nothing more to give.
    if (received == 0 || !all.job_count || offset >= *all.job_count) break;
  }
  return all;
}

long ListWalkPages(std::optional<int64_t> job_count, long page_size) {
  if (!job_count || *job_count <= 0) return 1;
  // The count comes from the network: divide first, so a huge one cannot overflow.
  const int64_t pages = *job_count / page_size + (*job_count % page_size != 0 ? 1 : 0);
  return static_cast<long>(std::min<int64_t>(pages, std::numeric_limits<long>::max()));
}

}  // namespace ief
