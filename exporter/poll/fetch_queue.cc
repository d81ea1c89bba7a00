#include "poll/fetch_queue.h"

namespace ief {

bool IsUrgent(FetchReason reason) { return reason == FetchReason::kChanged || reason == FetchReason::kNew; }

RequestPriority PriorityOf(FetchReason reason) {
  return IsUrgent(reason) ? RequestPriority::kUrgent : RequestPriority::kBackground;
}

std::string_view FetchReasonName(FetchReason reason) {
  switch (reason) {
    case FetchReason::kChanged: return "changed";
    case FetchReason::kNew: return "new";
    case FetchReason::kFillActive: return "fill_active";
    case FetchReason::kFillFinished: return "fill_finished";
    case FetchReason::kRefresh: return "refresh";
  }
  return "unknown";
}

bool FetchQueue::Push(const Key& key, FetchReason reason, SteadyTime order) {
  if (auto queued = index_.find(key); queued != index_.end()) {
    if (queued->second->reason <= reason) return false;
    Erase(queued->second);
  }
  auto [entry, inserted] = entries_.insert(Entry{reason, order, key});
  index_[key] = entry;
  if (IsUrgent(reason)) ++urgent_;
  return true;
}

void FetchQueue::Remove(const Key& key) {
  if (auto queued = index_.find(key); queued != index_.end()) Erase(queued->second);
}

std::optional<std::pair<FetchQueue::Key, FetchReason>> FetchQueue::Pop(
    const std::function<bool(const Key&, FetchReason)>& ready) {
  for (auto entry = entries_.begin(); entry != entries_.end(); ++entry) {
    if (!ready(entry->key, entry->reason)) continue;
    std::pair<Key, FetchReason> picked{entry->key, entry->reason};
    Erase(entry);
    return picked;
  }
  return std::nullopt;
}

void FetchQueue::Erase(std::set<Entry>::iterator entry) {
  if (IsUrgent(entry->reason)) --urgent_;
  index_.erase(entry->key);
  entries_.erase(entry);
}

}  // namespace ief
