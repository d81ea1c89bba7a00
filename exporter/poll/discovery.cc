#include "poll/discovery.h"

#include <algorithm>

namespace ief {

DiscoveryFilter::DiscoveryFilter(const DiscoveryConfig& config) : job_types_(config.job_types) {
  // The config loader already compiled the regex once to validate it.
  if (!config.name_regex.empty()) name_regex_.emplace(config.name_regex, std::regex::ECMAScript);
  if (config.max_age) max_age_seconds_ = std::chrono::duration<double>(*config.max_age).count();
}

bool DiscoveryFilter::Matches(const BatchJob& summary, double now_unix) const {
  if (!job_types_.empty() &&
      std::find(job_types_.begin(), job_types_.end(), summary.job_type) == job_types_.end()) {
    return false;
  }
  if (name_regex_ && !std::regex_match(summary.job_name, *name_regex_)) return false;
  if (max_age_seconds_ && summary.created_at &&
      static_cast<double>(*summary.created_at) < now_unix - *max_age_seconds_) {
    return false;
  }
  return true;
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

bool IsActiveStatus(const std::string& status) {
  return status == "Waiting" || status == "Running" || status == "Stopping";
}

bool SummaryChanged(const BatchJob& listed, const BatchJob& fetched) {
  if (listed.status != fetched.status) return true;
  return listed.status_last_updated_at && fetched.status_last_updated_at &&
         *listed.status_last_updated_at != *fetched.status_last_updated_at;
}

FetchResult ListAllJobs(const PageReader& read_page, long page_size, long max_pages) {
  FetchResult all;
  long offset = 0;
  for (long page = 0; page < max_pages; ++page) {
    FetchResult result = read_page(offset, page_size);
    if (!result.ok()) return result;
    all.kind = FetchResult::Kind::kOk;
    all.request_id = result.request_id;
    all.list.job_count = result.list.job_count;
    long received = static_cast<long>(result.list.jobs.size());
    for (BatchJob& job : result.list.jobs) all.list.jobs.push_back(std::move(job));
    offset += received;
    // Done when the server says we have everything, or when it has nothing more to give.
    if (received == 0 || !result.list.job_count || offset >= *result.list.job_count) return all;
  }
  return all;
}

}  // namespace ief
