// ISO 8601 timestamps as IAM writes them ("2020-01-04T09:05:22.701000Z", always UTC).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/clock.h"

namespace ief {

// The time "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" names; nullopt for anything else.
std::optional<WallTime> ParseIso8601Utc(std::string_view text);

// "YYYY-MM-DDTHH:MM:SS.000000Z" (whole seconds).
std::string FormatIso8601Utc(WallTime time);

// `time` in UTC through strftime's `format` (whole seconds), e.g. "%Y%m%dT%H%M%SZ".
std::string FormatUtc(WallTime time, const char* format);

}  // namespace ief
