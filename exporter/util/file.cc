#include "util/file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace ief {

Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorKind::kIo, "cannot read " + path + ": " + std::strerror(errno));
  std::string content;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    content.append(buffer, static_cast<size_t>(in.gcount()));
    if (content.size() > max_bytes) {
      return Error(ErrorKind::kIo, "file " + path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  if (in.bad()) return Error(ErrorKind::kIo, "cannot read " + path + ": I/O error");
  return content;
}

}  // namespace ief
