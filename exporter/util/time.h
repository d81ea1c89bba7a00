// ISO 8601 timestamps as IAM writes them ("2020-01-04T09:05:22.701000Z", always UTC).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ief {

// Unix seconds (with the fraction) for "YYYY-MM-DDTHH:MM:SS[.ffffff]Z"; nullopt for anything else.
std::optional<double> ParseIso8601Utc(std::string_view text);

// "YYYY-MM-DDTHH:MM:SS.000000Z" for whole unix seconds.
std::string FormatIso8601Utc(double unix_seconds);

}  // namespace ief
