// Signal handling the simple, thread-safe way: block SIGINT/SIGTERM/SIGHUP in every thread (call this first in
// main, before any thread exists) and let the main thread wait for them with sigwait.
#pragma once

#include <chrono>

namespace ief {

void BlockProcessSignals();
// Blocks until SIGINT, SIGTERM or SIGHUP arrives and returns its number.
int WaitForProcessSignal();

// Makes sure the process ends within `deadline` from now. Call it once, when shutting down, before the orderly
// shutdown: if the process still runs when the deadline passes (a thread that cannot be stopped, such as one in a
// read on a file system that stalls, or a web handler that does not return), it logs that and exits with
// `exit_code` at once, without running destructors.
void ExitNoLaterThan(std::chrono::milliseconds deadline, int exit_code);

}  // namespace ief
