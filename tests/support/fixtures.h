// Test helpers: fixture files, temporary files, counting in text.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace ief::testing {

inline std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(IEF_FIXTURES_DIR) + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A file's content ("" when it cannot be read).
inline std::string FileContent(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// How many times `part` occurs in `text`, not overlapping (a log line logged once, a row's entries).
inline size_t Occurrences(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++count;
  return count;
}

// A file in /tmp holding `content`, removed when the object goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& content, const char* suffix = "") {
    std::string pattern = std::string("/tmp/ief_test_XXXXXX") + suffix;
    int fd = mkstemps(pattern.data(), static_cast<int>(std::char_traits<char>::length(suffix)));
    if (fd < 0) throw std::runtime_error("mkstemps failed");
    close(fd);
    path_ = pattern;
    Write(content);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void Write(const std::string& content) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << content;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A directory in /tmp, removed with everything in it when the object goes away.
class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = "/tmp/ief_test_dir_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to NAME in the directory; its path.
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(*this / name, std::ios::binary) << content;
    return *this / name;
  }

 private:
  std::string path_;
};

// A named pipe in a directory of its own in /tmp, which nobody writes to: a file that blocks a plain open() or
// read() for ever. Removed with its directory when the object goes away.
class TempFifo {
 public:
  TempFifo() {
    std::string pattern = "/tmp/ief_fifo_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    path_ = dir_ + "/pipe";
    if (mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
  }
  ~TempFifo() {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  TempFifo(const TempFifo&) = delete;
  TempFifo& operator=(const TempFifo&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace ief::testing
