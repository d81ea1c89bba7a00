#include "util/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>

namespace ief {
namespace {

// What a file that is not a regular one is, for the message.
const char* FileTypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Why a file with this status cannot be read; empty when it can.
std::string Unreadable(const struct stat& st, size_t max_bytes) {
  if (!S_ISREG(st.st_mode)) return std::string("not a regular file (") + FileTypeName(st.st_mode) + ")";
  if (st.st_size < 0 || static_cast<uintmax_t>(st.st_size) > max_bytes) {
    return "larger than " + std::to_string(max_bytes) + " bytes";
  }
  return "";
}

// Closes a descriptor on every way out.
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


}  // namespace

Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes) {
  auto failed = [&path](const std::string& reason) {
    return Error(ErrorKind::kIo, "cannot read " + path + ": " + reason);
  };
  // Look before opening: opening a device can have effects of its own, and opening a pipe is never needed.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return failed(std::strerror(errno));
  if (std::string reason = Unreadable(st, max_bytes); !reason.empty()) return failed(reason);
  // The path may have been swapped since: O_NONBLOCK keeps the open (and any read) of a pipe from waiting for a
  // writer, and the checks are repeated on what was actually opened.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (fd.get() < 0) return failed(std::strerror(errno));
  if (::fstat(fd.get(), &st) != 0) return failed(std::strerror(errno));
  if (std::string reason = Unreadable(st, max_bytes); !reason.empty()) return failed(reason);

  std::string content;
  content.reserve(static_cast<size_t>(st.st_size));
  char buffer[4096];
  while (true) {
    ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return failed(std::strerror(errno));
    if (got == 0) break;
    content.append(buffer, static_cast<size_t>(got));
    if (content.size() > max_bytes) return failed("larger than " + std::to_string(max_bytes) + " bytes");
  }
  return content;
}

namespace {

Error IoError(const std::string& what, const std::string& path) {
  return Error(ErrorKind::kIo, what + " " + path + ": " + std::strerror(errno));
}

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
  // Whatever lies at the temporary path (a left-over, or a named pipe that would block an open) is ours to replace:
  // the file is made afresh, never opened as found.
  ::unlink(temporary.c_str());
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600));
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
