// Reading small files (secrets, configs) with a size cap.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/result.h"

namespace ief {

// Reads a whole file, refusing files larger than `max_bytes`. Errors name the path but never the content.
Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes);

// Replaces `path` with `content` atomically: written to a temporary file beside it (mode 0600), flushed to disk,
// renamed over `path`, and the directory flushed, so a crash at any point leaves the old file or the new one.
Status WriteFileAtomically(const std::string& path, std::string_view content);

}  // namespace ief
