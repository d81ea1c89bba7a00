#include "util/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "util/mutex.h"
#include "util/text.h"

namespace ief::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kLogfmt};
Mutex g_write_mutex;

constexpr std::string_view kLevelNames[] = {"debug", "info", "warn", "error"};

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis % 1000));
  return buf;
}

std::string FormatLogfmt(Level level, std::string_view message, std::initializer_list<Field> fields) {
  std::string line = "ts=" + Timestamp() + " level=" + std::string(kLevelNames[static_cast<int>(level)]) +
                     " msg=" + QuoteForLog(message);
  for (const Field& field : fields) {
    line += ' ';
    line += field.key;
    line += '=';
    line += QuoteForLog(field.value);
  }
  return line;
}

std::string FormatJson(Level level, std::string_view message, std::initializer_list<Field> fields) {
  std::string line = "{\"ts\":\"" + Timestamp() + "\",\"level\":\"" +
                     std::string(kLevelNames[static_cast<int>(level)]) + "\",\"msg\":\"" + JsonEscape(message) +
                     "\"";
  for (const Field& field : fields) {
    line += ",\"" + JsonEscape(field.key) + "\":\"" + JsonEscape(field.value) + "\"";
  }
  return line + "}";
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  value = buf;
}

Result<Level> ParseLevel(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (name == kLevelNames[i]) return static_cast<Level>(i);
  }
  return ief::Error(ief::ErrorKind::kInvalidArgument,
                    "unknown log level \"" + std::string(name) + "\" (debug, info, warn, error)");
}

Result<Format> ParseFormat(std::string_view name) {
  if (name == "logfmt") return Format::kLogfmt;
  if (name == "json") return Format::kJson;
  return ief::Error(ief::ErrorKind::kInvalidArgument,
                    "unknown log format \"" + std::string(name) + "\" (logfmt, json)");
}

void Configure(Level level, Format format) {
  g_level = level;
  g_format = format;
}

bool Enabled(Level level) { return level >= g_level.load(); }

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line = g_format.load() == Format::kJson ? FormatJson(level, message, fields)
                                                       : FormatLogfmt(level, message, fields);
  line += '\n';
  MutexLock lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace ief::log
