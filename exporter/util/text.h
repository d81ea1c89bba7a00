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

// True for identifiers safe to place in a URL path segment: [A-Za-z0-9_.-]+.
bool IsSafePathSegment(std::string_view text);

}  // namespace ief
