// libFuzzer target: the state file behind --storage.path (a file on disk is hostile input). Each input is read as
// it is, and again with a valid checksum put in, so that the checks behind the checksum are reached too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "poll/history_file.h"
#include "util/crypto.h"

namespace {

// The input with its "sha256" member replaced by the checksum the format expects, or "" when it is no JSON object.
std::string Resigned(std::string_view text) {
  nlohmann::json document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) return "";
  document.erase("sha256");
  const std::string body = document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  document["sha256"] = ief::crypto::Sha256Hex(body);
  return document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Check(std::string_view text) {
  ief::Result<ief::HistoryState> state = ief::DecodeHistory(text);
  if (!state.ok()) return;
  // What was accepted survives its own round trip unchanged.
  ief::Result<ief::HistoryState> again = ief::DecodeHistory(ief::EncodeHistory(*state));
  if (!again.ok() || !(*again == *state)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Check(text);
  if (size < 4096) Check(Resigned(text));  // deep inputs are the parser's business, already checked above
  return 0;
}
