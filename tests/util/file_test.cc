#include "util/file.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "support/fixtures.h"

namespace {

// The error of reading `path`, or "read: CONTENT" when it was read.
std::string Outcome(const std::string& path, size_t max_bytes = 1024) {
  ief::Result<std::string> content = ief::ReadFileCapped(path, max_bytes);
  if (content.ok()) return "read: " + *content;
  CHECK(content.error().kind == ief::ErrorKind::kIo);
  return content.error().message;
}

}  // namespace

TEST_CASE("a regular file is read whole, directly or through a symlink (as Kubernetes mounts secrets)") {
  ief::testing::TempFile file("token\n");
  CHECK(Outcome(file.path()) == "read: token\n");
  const std::string link = file.path() + ".link";
  REQUIRE(::symlink(file.path().c_str(), link.c_str()) == 0);
  CHECK(Outcome(link) == "read: token\n");
  ::unlink(link.c_str());
  CHECK(Outcome("/nonexistent/file") == "cannot read /nonexistent/file: No such file or directory");
}

TEST_CASE("a named pipe nobody writes to is refused at once, never waited on") {
  ief::testing::TempFifo fifo;
  const auto started = std::chrono::steady_clock::now();
  CHECK(Outcome(fifo.path()) == "cannot read " + fifo.path() + ": not a regular file (a named pipe)");
  const std::string link = fifo.path() + ".link";  // a symlink to a pipe is a pipe
  REQUIRE(::symlink(fifo.path().c_str(), link.c_str()) == 0);
  CHECK(Outcome(link) == "cannot read " + link + ": not a regular file (a named pipe)");
  ::unlink(link.c_str());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}

TEST_CASE("directories and devices are refused before a byte is read") {
  CHECK(Outcome("/tmp") == "cannot read /tmp: not a regular file (a directory)");
  CHECK(Outcome("/dev/zero") == "cannot read /dev/zero: not a regular file (a character device)");
  CHECK(Outcome("/dev/null") == "cannot read /dev/null: not a regular file (a character device)");
}

TEST_CASE("the size cap is checked on the file, and an exact fit is read") {
  ief::testing::TempFile fits(std::string(1024, 'x'));
  CHECK(Outcome(fits.path()) == "read: " + std::string(1024, 'x'));
  ief::testing::TempFile over(std::string(1025, 'x'));
  CHECK(Outcome(over.path()) == "cannot read " + over.path() + ": larger than 1024 bytes");
  ief::testing::TempFile empty("");
  CHECK(Outcome(empty.path()) == "read: ");
}
