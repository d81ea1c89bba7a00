#include "util/time.h"

#include <cstdlib>
#include <ctime>

namespace ief {

std::optional<WallTime> ParseIso8601Utc(std::string_view text) {
  std::tm tm{};
  std::string copy(text);
  const char* rest = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  double fraction = 0;
  if (*rest == '.') {
    char* end = nullptr;
    fraction = std::strtod(rest, &end);
    rest = end;
  }
  if (*rest != 'Z' || rest[1] != '\0') return std::nullopt;
  return FromUnixSeconds(static_cast<double>(timegm(&tm)) + fraction);
}

std::string FormatUtc(WallTime time, const char* format) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[64];
  size_t length = std::strftime(buf, sizeof buf, format, &utc);
  return std::string(buf, length);
}

std::string FormatIso8601Utc(WallTime time) { return FormatUtc(time, "%Y-%m-%dT%H:%M:%S.000000Z"); }

}  // namespace ief
