#include "ief/retry.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace ief {

bool IsRetryable(const HttpResponse& response) {
  if (!response.transport_ok) return true;
  switch (response.status) {
    case 429: case 500: case 502: case 503: case 504: return true;
    default: return false;
  }
}

double ParseRetryAfter(const std::string& value, double now_unix) {
  if (value.empty()) return -1;
  if (std::all_of(value.begin(), value.end(), ::isdigit)) return value.size() > 9 ? 1e9 : std::stod(value);
  std::tm tm{};
  const char* end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return -1;
  return std::max(0.0, static_cast<double>(timegm(&tm)) - now_unix);
}

Duration RetryDelay(const RetryPolicy& policy, int retry, const std::string& retry_after, double now_unix,
                    std::mt19937_64& random) {
  double base = std::chrono::duration<double>(policy.base_delay).count();
  double cap = std::chrono::duration<double>(policy.max_delay).count();
  double ceiling = std::min(cap, base * std::pow(2.0, std::max(0, retry - 1)));
  double jittered = std::uniform_real_distribution<double>(ceiling / 2, ceiling)(random);
  double asked = ParseRetryAfter(retry_after, now_unix);
  double seconds = std::max(jittered, asked);
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

}  // namespace ief
