#include "util/large_stack.h"

#include <pthread.h>

#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

namespace {

size_t CurrentStackSize() {
  pthread_attr_t attributes;
  size_t size = 0;
  pthread_getattr_np(pthread_self(), &attributes);
  pthread_attr_getstacksize(&attributes, &size);
  pthread_attr_destroy(&attributes);
  return size;
}

// Recursion whose frames the optimizer cannot fold: each level keeps 1 KiB of its own alive.
int Recurse(int depth) {
  volatile char frame[1024];
  frame[0] = 1;
  return depth == 0 ? 0 : Recurse(depth - 1) + frame[0];
}

}  // namespace

TEST_CASE("RunWithStack runs the work on a stack of the size asked, and waits for it") {
  size_t seen = 0;
  std::thread::id worker;
  REQUIRE(ief::RunWithStack(ief::kLargeStackBytes, [&] {
            seen = CurrentStackSize();
            worker = std::this_thread::get_id();
          }).ok());
  CHECK(seen >= ief::kLargeStackBytes);
  CHECK(worker != std::this_thread::get_id());
}

TEST_CASE("RunWithStack carries deep recursion a small thread could not") {
  // 4 MiB of frames: more than a CivetWeb worker's 100 KiB many times over, well within 16 MiB.
  int result = -1;
  REQUIRE(ief::RunWithStack(ief::kLargeStackBytes, [&] { result = Recurse(4096); }).ok());
  CHECK(result == 4096);
}

TEST_CASE("RunWithStack rethrows what the work throws") {
  CHECK_THROWS_WITH(ief::RunWithStack(1 << 20, [] { throw std::runtime_error("inside"); }), "inside");
}

TEST_CASE("RunWithStack refuses a stack size the system cannot give") {
  bool ran = false;
  ief::Status status = ief::RunWithStack(1, [&] { ran = true; });  // below PTHREAD_STACK_MIN
  CHECK_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("cannot start a thread"));
  CHECK_FALSE(ran);
}
