#include "app/history_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "poll/history_file.h"
#include "util/log.h"

namespace ief {

Result<std::unique_ptr<HistoryStore>> HistoryStore::Open(const std::string& directory, ShardAssignment shard,
                                                         ExporterInfoMetrics& metrics) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    log::Error("Cannot create the storage directory: history will not survive a restart",
               {{"path", directory}, {"err", error.message()}});
  }
  const std::string base = (std::filesystem::path(directory) / ("history-shard-" + std::to_string(shard.ordinal))).string();
  const std::string lock_path = base + ".lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd >= 0 && ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const int lock_errno = errno;
    ::close(lock_fd);
    if (lock_errno == EWOULDBLOCK) {
      return Error(ErrorKind::kInvalidArgument,
                   "another ief_exporter already keeps its state in " + directory + " (" + lock_path + " is locked)");
    }
    lock_fd = -1;
  }
  if (lock_fd < 0) {
    log::Error("Cannot lock the storage directory: history will not survive a restart",
               {{"path", lock_path}, {"err", std::strerror(errno)}});
  }
  return std::unique_ptr<HistoryStore>(new HistoryStore(base + ".json", lock_fd, metrics));
}

HistoryStore::~HistoryStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

std::optional<HistoryState> HistoryStore::Load() {
  std::error_code error;
  if (std::filesystem::symlink_status(path_, error).type() == std::filesystem::file_type::not_found) {
    log::Info("No stored history yet: history is counted from now on", {{"path", path_}});
    return std::nullopt;
  }
  Result<HistoryState> state = ReadHistoryFile(path_);
  if (!state.ok()) {
    metrics_.RecordStateReadError();
    MoveAside(state.error().message);
    return std::nullopt;
  }
  log::Info("History resumed from the state file", {{"path", path_}, {"projects", state->projects.size()}});
  return std::move(state).value();
}

// A state file that cannot be used is kept for a post-mortem, out of the way: the next save starts afresh.
void HistoryStore::MoveAside(const std::string& reason) {
  const std::string aside = path_ + ".bad-" + std::to_string(static_cast<long long>(UnixSeconds(SystemClock().Wall())));
  const bool moved = ::rename(path_.c_str(), aside.c_str()) == 0;
  log::Error("The state file cannot be used: history is counted afresh from now on, nothing counted before is "
             "counted again",
             {{"path", path_}, {"err", reason}, {"moved_to", moved ? aside : std::string("(could not be moved)")}});
}

bool HistoryStore::Save(const HistoryState& state) {
  Status written = WriteHistoryFile(path_, state);
  metrics_.RecordStateWrite(written.ok() ? Outcome::kSucceeded : Outcome::kFailed, SystemClock().Wall());
  if (written.ok()) {
    if (failing_) log::Info("State file written again: the history held back is published", {{"path", path_}});
    failing_ = false;
    return true;
  }
  if (!failing_) {
    log::Error("Cannot write the state file: history is held back until a write succeeds (logged once)",
               {{"path", path_}, {"err", written.error().message}});
  }
  failing_ = true;
  return false;
}

}  // namespace ief
