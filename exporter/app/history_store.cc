#include "app/history_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>

#include "poll/discovery.h"
#include "poll/history_file.h"
#include "util/log.h"

namespace ief {
namespace {

// Shards a deployment may have had: a directory with more files than that holds something else.
constexpr size_t kMaxSiblingFiles = 256;

std::string ShardFile(const std::string& directory, int ordinal, std::string_view extension) {
  const std::string name = "history-shard-" + std::to_string(ordinal) + std::string(extension);
  return (std::filesystem::path(directory) / name).string();
}

// The shard ordinal of a state file's name ("history-shard-<I>.json"); none for any other file (lock files, files
// moved aside, temporary files).
std::optional<int> ShardOfFile(std::string_view name) {
  constexpr std::string_view kPrefix = "history-shard-", kSuffix = ".json";
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  const std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  int ordinal = 0;
  const auto [end, parsed] = std::from_chars(digits.data(), digits.data() + digits.size(), ordinal);
  const bool whole = parsed == std::errc() && end == digits.data() + digits.size();
  if (!whole || ordinal < 0 || std::to_string(ordinal) != digits) {
    return std::nullopt;  // not a name a shard writes ("-1", "007", "1x")
  }
  return ordinal;
}

}  // namespace

Result<std::unique_ptr<HistoryStore>> HistoryStore::Open(const std::string& directory, ShardAssignment shard,
                                                         ExporterInfoMetrics& metrics) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    log::Error("Cannot create the storage directory: history will not survive a restart",
               {{"path", directory}, {"err", error.message()}});
  }
  const std::string lock_path = ShardFile(directory, shard.ordinal, ".lock");
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
  return std::unique_ptr<HistoryStore>(new HistoryStore(directory, shard, lock_fd, metrics));
}

HistoryStore::HistoryStore(std::string directory, ShardAssignment shard, int lock_fd, ExporterInfoMetrics& metrics)
    : directory_(std::move(directory)),
      shard_(shard),
      path_(ShardFile(directory_, shard.ordinal, ".json")),
      lock_fd_(lock_fd),
      metrics_(metrics) {}

HistoryStore::~HistoryStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

std::optional<HistoryState> HistoryStore::Load(int64_t started) {
  OwnFile own = LoadOwn();
  const std::vector<HistoryState> siblings = LoadSiblings();
  if (siblings.empty()) return own.state;
  HistoryState merged = own.state.value_or(HistoryState{});
  // Only a replica new to the directory: after a damaged file of its own, its jobs are unknown to the others' files
  // too, and starting at their points could count again what it had counted.
  if (own.absent) {
    StartWhereSiblingsGot(merged, siblings);
    log::Info("A replica new to the storage directory: history is counted from where the other shards' files had got",
              {{"path", directory_}, {"projects", merged.projects.size()}});
  }
  auto mine = [this](std::string_view job_id) { return InShard(job_id, shard_.ordinal, shard_.total); };
  const size_t taken = AdoptMovedJobs(merged, siblings, mine, started);
  if (taken > 0) {
    log::Info("Jobs that moved to this shard keep the history another shard's state file holds of them",
              {{"jobs", taken}, {"shard", shard_.ordinal}, {"total_shards", shard_.total}});
  }
  if (!own.state && merged.projects.empty()) return std::nullopt;
  return merged;
}

std::vector<HistoryState> HistoryStore::LoadSiblings() {
  std::map<int, std::string> files;  // by ordinal
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, error)) {
    const std::optional<int> ordinal = ShardOfFile(entry.path().filename().string());
    if (ordinal && *ordinal != shard_.ordinal) files.emplace(*ordinal, entry.path().string());
  }
  if (files.size() > kMaxSiblingFiles) {
    log::Warn("More state files of other shards than any deployment has: only the first are read",
              {{"path", directory_}, {"files", files.size()}, {"read", kMaxSiblingFiles}});
    files.erase(std::next(files.begin(), kMaxSiblingFiles), files.end());
  }
  std::vector<HistoryState> siblings;
  for (const auto& [ordinal, path] : files) {
    Result<HistoryState> state = ReadHistoryFile(path);
    if (!state.ok()) {
      metrics_.RecordStateReadError();
      log::Warn("Another shard's state file cannot be read: jobs that moved from it count only what happens from now "
                "on",
                {{"path", path}, {"err", state.error().message}});
      continue;
    }
    siblings.push_back(std::move(state).value());
  }
  return siblings;
}

HistoryStore::OwnFile HistoryStore::LoadOwn() {
  std::error_code error;
  if (std::filesystem::symlink_status(path_, error).type() == std::filesystem::file_type::not_found) {
    log::Info("No stored history yet: history is counted from now on", {{"path", path_}});
    return {.absent = true};
  }
  Result<HistoryState> state = ReadHistoryFile(path_);
  if (!state.ok()) {
    metrics_.RecordStateReadError();
    MoveAside(state.error().message);
    return {};
  }
  log::Info("History resumed from the state file", {{"path", path_}, {"projects", state->projects.size()}});
  return {.state = std::move(state).value()};
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
