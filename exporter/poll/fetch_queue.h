// The jobs waiting for a ShowBatchJob, in the order a tight API budget should serve them: jobs whose list summary
// changed, then new jobs, then the first fill of jobs found at start-up (active ones first: their tasks move),
// then periodic refreshes (oldest first).
// A job is queued at most once; asking again for a more urgent reason moves it up.
#pragma once

#include <compare>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "upstream/rate_limiter.h"
#include "util/clock.h"

namespace ief {

enum class FetchReason {
  kChanged = 0,      // the list shows a change the details do not (or nothing else can tell: no list)
  kNew = 1,          // a job that appeared after its project was first listed, or a configured one not read yet
  kFillActive = 2,    // an active job that was already there when its project was first listed
  kFillFinished = 3,  // a finished one
  kRefresh = 4,       // an active job whose details are older than active_refresh_interval, and the like
};
bool IsUrgent(FetchReason reason);
RequestPriority PriorityOf(FetchReason reason);
std::string_view FetchReasonName(FetchReason reason);

class FetchQueue {
 public:
  using Key = std::pair<std::string, std::string>;  // (project_id, job_id)

  // Queues `key`; `order` sorts entries of one reason (earlier first). Returns false when the key already waits
  // for an equally or more urgent reason (then nothing changes).
  bool Push(const Key& key, FetchReason reason, SteadyTime order);
  void Remove(const Key& key);
  // Removes and returns the first entry that `ready` accepts, in serving order.
  std::optional<std::pair<Key, FetchReason>> Pop(const std::function<bool(const Key&, FetchReason)>& ready);

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  size_t urgent() const { return urgent_; }

 private:
  struct Entry {
    FetchReason reason;
    SteadyTime order;
    Key key;
    auto operator<=>(const Entry&) const = default;
  };
  void Erase(std::set<Entry>::iterator entry);

  std::set<Entry> entries_;
  std::map<Key, std::set<Entry>::iterator> index_;
  size_t urgent_ = 0;
};

}  // namespace ief
