#include "util/duration.h"

#include <array>
#include <cstdint>
#include <limits>

namespace ief {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t millis;
};

// Largest first: parsing requires components in this order, formatting emits them in it.
constexpr std::array<Unit, 7> kUnits = {{
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

// Index into kUnits of the unit at the start of `rest`, or -1. "ms" must win over "m".
int MatchUnit(std::string_view rest) {
  if (rest.substr(0, 2) == "ms") return 6;
  for (int i = 0; i < 6; ++i) {
    if (rest.substr(0, 1) == kUnits[i].suffix) return i;
  }
  return -1;
}

Error Invalid(std::string_view text, std::string_view why) {
  return Error(ErrorKind::kInvalidArgument, "invalid duration \"" + std::string(text) + "\": " + std::string(why));
}

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return Invalid(text, "empty");
  int64_t total = 0;
  int last_unit = -1;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t digits_start = pos;
    int64_t number = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (number > (std::numeric_limits<int64_t>::max() - 9) / 10) return Invalid(text, "too large");
      number = number * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == digits_start) return Invalid(text, "expected a number, e.g. 30s, 5m, 1h30m");
    int unit = MatchUnit(text.substr(pos));
    if (unit < 0) return Invalid(text, "unknown or missing unit (use ms, s, m, h, d, w, y)");
    if (unit <= last_unit) return Invalid(text, "units must appear once each, largest first");
    if (number > std::numeric_limits<int64_t>::max() / kUnits[unit].millis) return Invalid(text, "too large");
    int64_t component = number * kUnits[unit].millis;
    if (total > std::numeric_limits<int64_t>::max() - component) return Invalid(text, "too large");
    total += component;
    pos += kUnits[unit].suffix.size();
    last_unit = unit;
  }
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  int64_t rest = d.count();
  if (rest == 0) return "0s";
  std::string out;
  if (rest < 0) {
    out = "-";
    rest = -rest;
  }
  for (const Unit& unit : kUnits) {
    if (rest >= unit.millis) {
      out += std::to_string(rest / unit.millis) + std::string(unit.suffix);
      rest %= unit.millis;
    }
  }
  return out;
}

}  // namespace ief
