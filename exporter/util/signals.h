// Signal handling the simple, thread-safe way: block SIGINT/SIGTERM/SIGHUP in every thread (call this first in
// main, before any thread exists) and let the main thread wait for them with sigwait.
#pragma once

namespace ief {

void BlockProcessSignals();
// Blocks until SIGINT, SIGTERM or SIGHUP arrives and returns its number.
int WaitForProcessSignal();

}  // namespace ief
