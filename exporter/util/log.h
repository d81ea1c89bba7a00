// Structured logging to stderr in logfmt (default) or JSON, the way Prometheus exporters log:
//   ts=2026-11-27T15:47:39.123Z level=info msg="Listening on" address=0.0.0.0:10038
// Never pass a secret as a field: there is no redaction layer, by design nothing secret reaches here.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "util/result.h"

namespace ief::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kLogfmt, kJson };

Result<Level> ParseLevel(std::string_view name);
Result<Format> ParseFormat(std::string_view name);

void Configure(Level level, Format format);
bool Enabled(Level level);

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, long long v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, long v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, unsigned long v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, double v);
  std::string_view key;
  std::string value;
};

void Write(Level level, std::string_view message, std::initializer_list<Field> fields);

inline void Debug(std::string_view message, std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, message, fields);
}
inline void Info(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, message, fields);
}
inline void Warn(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, message, fields);
}
inline void Error(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, message, fields);
}

}  // namespace ief::log
