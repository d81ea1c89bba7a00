#include "upstream/retry.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>

namespace ief {

bool IsRetryable(const Result<HttpResponse>& response) {
  if (!response.ok()) return response.error().kind == ErrorKind::kTransport;  // never a cancellation
  switch (response->status) {
    case 429: case 500: case 502: case 503: case 504: return true;
    default: return false;
  }
}

std::optional<Duration> ParseRetryAfter(std::string_view value, WallTime now) {
  if (value.empty()) return std::nullopt;
  constexpr long long kLongest = 24 * 3600;  // nobody waits a day; a huge value must not overflow either
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (end == value.data() + value.size()) {
    if (ec == std::errc::result_out_of_range) seconds = kLongest;
    else if (ec != std::errc() || seconds < 0) return std::nullopt;
    return std::chrono::seconds(std::min(seconds, kLongest));
  }
  std::tm tm{};
  std::string copy(value);
  const char* rest = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr || *rest != '\0') return std::nullopt;
  auto wait = FromUnixSeconds(static_cast<double>(timegm(&tm))) - now;  // clamped: any year is safe
  return std::clamp(std::chrono::duration_cast<Duration>(wait), Duration(0), Duration(std::chrono::hours(24)));
}

Duration RetryDelay(const RetryPolicy& policy, int retry, std::optional<Duration> retry_after,
                    std::mt19937_64& random) {
  double base = Seconds(policy.base_delay);
  double ceiling = std::min(Seconds(policy.max_delay), base * static_cast<double>(1LL << std::clamp(retry - 1, 0, 30)));
  double jittered = std::uniform_real_distribution<double>(ceiling / 2, ceiling)(random);
  auto delay = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(jittered));
  return retry_after ? std::max(delay, *retry_after) : delay;
}

}  // namespace ief
