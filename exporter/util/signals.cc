#include "util/signals.h"

#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <thread>

#include "util/log.h"

namespace ief {
namespace {

sigset_t ProcessSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockProcessSignals() {
  sigset_t set = ProcessSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A scraper or upstream that closes its socket early must not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
}

int WaitForProcessSignal() {
  sigset_t set = ProcessSignals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  return signal_number;
}

void ExitNoLaterThan(std::chrono::milliseconds deadline, int exit_code) {
  std::thread([deadline, exit_code] {
    std::this_thread::sleep_for(deadline);
    log::Info("Shutdown deadline reached; exiting now", {{"deadline_ms", static_cast<long>(deadline.count())}});
    std::_Exit(exit_code);
  }).detach();
}

}  // namespace ief
