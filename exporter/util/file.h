// Reading small files (configs, secrets, certificates) with a size cap, safely: every file the exporter reads goes
// through ReadFileCapped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/result.h"

namespace ief {

// Largest secret file read (token, password, secret key: an IAM token is about 10 KB).
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

// Reads a whole regular file (or a symlink to one, as Kubernetes mounts secrets) of at most `max_bytes`.
// No file can make it block or read without end: anything but a regular file (a named pipe nobody writes to, a
// device such as /dev/zero, a directory, a socket) is refused before a byte is read, the file is opened
// non-blocking and without becoming a controlling terminal, and the size is checked on the opened descriptor
// (and again while reading, for a file that grows). Errors (kIo) read "cannot read PATH: REASON"; they name the
// path but never the content.
Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes);

// Replaces `path` with `content` atomically: written to a temporary file beside it (mode 0600), flushed to disk,
// renamed over `path`, and the directory flushed, so a crash at any point leaves the old file or the new one.
Status WriteFileAtomically(const std::string& path, std::string_view content);

}  // namespace ief
