#include "metrics/process_collector.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace ief {
namespace {

struct ProcStat {
  double utime_ticks = 0, stime_ticks = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  bool ok = false;
};

// /proc/self/stat: the command name may hold spaces, so parse after its closing parenthesis.
ProcStat ReadProcStat() {
  ProcStat stat;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return stat;
  size_t paren = line.rfind(')');
  if (paren == std::string::npos) return stat;
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  // Fields after the name start at number 3 (state); we need 14, 15, 22, 23, 24.
  for (int number = 3; fields >> field; ++number) {
    if (number == 14) stat.utime_ticks = std::stod(field);
    if (number == 15) stat.stime_ticks = std::stod(field);
    if (number == 22) stat.start_ticks = std::stod(field);
    if (number == 23) stat.vsize = std::stod(field);
    if (number == 24) {
      stat.rss_pages = std::stod(field);
      stat.ok = true;
      break;
    }
  }
  return stat;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value;
  while (in >> key) {
    if (key == "btime" && (in >> value)) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

prometheus::MetricFamily Single(const char* name, const char* help, prometheus::MetricType type, double value) {
  prometheus::MetricFamily family{name, help, type, {}};
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

}  // namespace

ProcessCollector::ProcessCollector() {
  ProcStat stat = ReadProcStat();
  start_time_seconds_ = BootTimeSeconds() + stat.start_ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  try {
    ProcStat stat = ReadProcStat();
    if (stat.ok) {
      double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      double page = static_cast<double>(sysconf(_SC_PAGESIZE));
      out.push_back(Single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                           MetricType::Counter, (stat.utime_ticks + stat.stime_ticks) / ticks));
      out.push_back(Single("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
                           stat.rss_pages * page));
      out.push_back(Single("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
                           stat.vsize));
    }
    int fds = CountOpenFds();
    if (fds >= 0) {
      out.push_back(Single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, fds));
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      out.push_back(Single("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
                           static_cast<double>(limit.rlim_cur)));
    }
    out.push_back(Single("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                         MetricType::Gauge, start_time_seconds_));
  } catch (const std::exception&) {
    // A malformed /proc line must not terminate the process from inside Collect(); export what we have.
  }
  return out;
}

}  // namespace ief
