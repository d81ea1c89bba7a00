// Prometheus-style durations: "500ms", "30s", "5m", "1h30m", "7d".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/result.h"

namespace ief {

using Duration = std::chrono::milliseconds;

// Parses a Prometheus duration. Units: ms, s, m, h, d, w, y; components in decreasing order, no sign,
// no fractions. "0s" is valid; callers that need a positive value check it themselves.
Result<Duration> ParseDuration(std::string_view text);

// Shortest Prometheus spelling of a duration, e.g. 90000ms -> "1m30s".
std::string FormatDuration(Duration d);

}  // namespace ief
