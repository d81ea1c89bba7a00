// A check for integration tests (Catch): SIGTERM must end a process within 2 s with exit code 0, whatever it met.
#pragma once

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "support/integration.h"

namespace ief::testing {

inline void CheckStopsPromptly(RunningProcess& process) {
  const auto started = std::chrono::steady_clock::now();
  CHECK(process.process->Stop(SIGTERM, std::chrono::seconds(5)) == 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO("SIGTERM took " << seconds << " s");
  CHECK(seconds < 2);
}

}  // namespace ief::testing
