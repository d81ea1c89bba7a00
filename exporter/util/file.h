// Reading small files (secrets, configs) with a size cap.
#pragma once

#include <cstddef>
#include <string>

#include "util/result.h"

namespace ief {

// Reads a whole file, refusing files larger than `max_bytes`. Errors name the path but never the content.
Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes);

}  // namespace ief
