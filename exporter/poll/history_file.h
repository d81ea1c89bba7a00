// The state file behind --storage.path: the HistoryState (history.h) as a small JSON document, versioned and with a
// SHA-256 of its content, written atomically (a temporary file, fsync, rename, fsync of the directory).
//
// A file on disk is hostile input like an API answer: reading it refuses anything that is not a regular file
// within kMaxHistoryFileBytes, not JSON, nested deeper than the format, of another format or version, with a
// checksum that does not match, or with values the format does not allow (ids that are not one path segment,
// negative counts, oversized texts). Such a file is an error the caller reports; nothing of it is used.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "poll/history.h"
#include "util/result.h"

namespace ief {

inline constexpr int kHistoryFileVersion = 1;
inline constexpr size_t kMaxHistoryFileBytes = 256 << 20;

std::string EncodeHistory(const HistoryState& state);
Result<HistoryState> DecodeHistory(std::string_view text);

Result<HistoryState> ReadHistoryFile(const std::string& path);
// Replaces `path` atomically: readers (and a crash at any point) see the old file or the new one, never a mix.
Status WriteHistoryFile(const std::string& path, const HistoryState& state);

}  // namespace ief
