// libFuzzer target: the config loader and the web config loader. Errors must be messages, never crashes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"
#include "config/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = ief::ParseConfig(text, "fuzz.yml");
  if (!config.ok() && config.error().message.rfind("fuzz.yml:", 0) != 0) __builtin_trap();  // every error has a position
  auto web = ief::ParseWebConfig(text, "web.yml");
  if (!web.ok() && web.error().message.rfind("web.yml:", 0) != 0) __builtin_trap();
  return 0;
}
