#include "util/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
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

namespace {

Error IoError(const std::string& what, const std::string& path) {
  return Error(ErrorKind::kIo, what + " " + path + ": " + std::strerror(errno));
}

// Closes a descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close() may be the first to see (a full disk on some file systems).
  bool Close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view content, const std::string& path) {
  while (!content.empty()) {
    const ssize_t written = ::write(fd, content.data(), content.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return IoError("cannot write", path);
    content.remove_prefix(static_cast<size_t>(written));
  }
  return Status::Ok();
}

Status SyncDirectoryOf(const std::string& path) {
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return IoError("cannot flush the directory of", path);
  return Status::Ok();
}

}  // namespace

Status WriteFileAtomically(const std::string& path, std::string_view content) {
  const std::string temporary = path + ".tmp";
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return IoError("cannot create", temporary);
  Status written = WriteAll(fd.get(), content, temporary);
  if (written.ok() && ::fsync(fd.get()) != 0) written = IoError("cannot flush", temporary);
  if (!fd.Close() && written.ok()) written = IoError("cannot close", temporary);
  if (written.ok() && ::rename(temporary.c_str(), path.c_str()) != 0) written = IoError("cannot rename onto", path);
  if (!written.ok()) {
    ::unlink(temporary.c_str());
    return written;
  }
  return SyncDirectoryOf(path);
}

}  // namespace ief
