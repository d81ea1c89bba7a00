// Small string helpers shared by several modules.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ief {

// The first `max_chars` code points of a valid UTF-8 string (never splits a multi-byte character).
std::string TruncateUtf8(std::string_view text, size_t max_chars);

// Removes trailing '\n', '\r', ' ' and '\t' (secret files usually end with a newline).
std::string_view TrimTrailingWhitespace(std::string_view text);
// The same at both ends (HTTP header values, list items).
std::string_view TrimWhitespace(std::string_view text);

// ASCII case-insensitive equality (HTTP header names and tokens).
bool EqualsIgnoringCase(std::string_view a, std::string_view b);

// Quotes a value for logfmt / human messages: "a b" -> "\"a b\"", escaping quotes, backslashes and control
// characters.
std::string QuoteForLog(std::string_view value);

// Escapes a string for inclusion in a JSON string literal (no surrounding quotes).
std::string JsonEscape(std::string_view value);

// Longest id (project or job) accepted; real ones are 32 to 36 characters.
inline constexpr size_t kMaxIdLength = 128;

// The one rule for project and job ids, from the config or from the API: 1 to kMaxIdLength characters of
// [A-Za-z0-9_.-], and neither "." nor "..", so an id is always exactly one URL path segment.
bool IsSafePathSegment(std::string_view text);

// The one rule for values we put in HTTP request headers (tokens, keys, instance ids): printable ASCII only, so
// no value can end a header line and start another.
bool IsValidHeaderValue(std::string_view value);

// ASCII lower case (HTTP header names).
std::string ToLowerAscii(std::string_view text);

}  // namespace ief
