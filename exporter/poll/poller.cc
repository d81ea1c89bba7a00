#include "poll/poller.h"

#include <algorithm>
#include <utility>

#include "util/log.h"
#include "util/memory.h"

namespace ief {
namespace {

class IefFetcher : public JobFetcher {
 public:
  IefFetcher(TransportPool::Lease transport, IefClientOptions options, ApiObserver* observer)
      : transport_(std::move(transport)), client_(*transport_, observer, std::move(options)) {}
  Fetched<BatchJob> Fetch(const ProjectContext& project, const std::string& job_id,
                          RequestPriority priority) override {
    return client_.ShowBatchJob(project, job_id, priority);
  }
  Fetched<BatchJobList> ListPage(const ProjectContext& project, long offset, long limit) override {
    return client_.ListBatchJobPage(project, offset, limit);
  }

 private:
  TransportPool::Lease transport_;
  IefClient client_;
};

}  // namespace

JobFetcherFactory MakeIefFetcherFactory(TransportPool& transports, IefClientOptions client_options,
                                        ApiObserver* observer) {
  return [&transports, client_options, observer](const Cancellation* cancellation) {
    IefClientOptions options = client_options;
    options.cancellation = cancellation;
    return std::make_unique<IefFetcher>(transports.Borrow(), options, observer);
  };
}

Poller::Poller(PollerOptions options, std::vector<TrackedProject> projects, JobFetcherFactory fetchers,
               SnapshotStore& store, PollerSeed seed)
    : options_(std::move(options)),
      fetcher_factory_(std::move(fetchers)),
      store_(store),
      clock_(*options_.clock),
      tracker_(options_.tracking, std::move(projects), seed.previous, std::move(seed.history), Moment::Now(clock_)) {
  MutexLock lock(mutex_);
  PublishLocked();
}

Poller::~Poller() { Stop(); }

void Poller::StartWorkers() {
  if (!workers_.empty()) return;
  lister_ = fetcher_factory_(&cancellation_);
  int count = std::max(1, options_.max_concurrency);
  for (int i = 0; i < count; ++i) {
    workers_.emplace_back(&Poller::WorkerLoop, this, fetcher_factory_(&cancellation_));
  }
  if (options_.save_history) committer_ = std::thread(&Poller::CommitLoop, this);
}

void Poller::Start() {
  StartWorkers();
  scheduler_ = std::thread(&Poller::SchedulerLoop, this);
}

void Poller::Stop() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  cancellation_.Cancel();  // aborts transfers and waits in flight
  work_available_.notify_all();
  work_done_.notify_all();
  stop_requested_.notify_all();
  commit_wanted_.notify_all();
  for (std::thread* thread : {&scheduler_, &committer_}) {
    if (thread->joinable()) thread->join();
  }
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
  lister_.reset();
}

void Poller::Shutdown() {
  Stop();
  if (!options_.save_history) return;
  MutexLock commit_lock(commit_mutex_);
  // Once only: a second call (the app's destructor after its shutdown) would find the transitions the first one
  // left out taken, and save a file that says they were counted.
  if (std::exchange(shut_down_, true)) return;
  HistoryState history;
  {
    MutexLock lock(mutex_);
    if (tracker_.HasTransitions()) {
      log::Info("Transitions decided in the last moments are left to the next start, which counts them again",
                {{"transitions", tracker_.TakeTransitions().size()}});
      return;
    }
    if (!HistoryChangedLocked()) return;
    history = tracker_.History();
  }
  if (!held_.empty()) return;  // the file holds less than what was decided: the next start counts the rest again
  (void)options_.save_history(history);
}

HistoryState Poller::History() {
  MutexLock lock(mutex_);
  return tracker_.History();
}

void Poller::PublishLocked() { store_.Publish(tracker_.MakeSnapshot()); }

// ---- Transitions: saved, then delivered ----

bool Poller::HistoryChangedLocked() const {
  return !saved_versions_ ||
         *saved_versions_ != std::make_pair(tracker_.history_version(), tracker_.watermark_version());
}

void Poller::Commit(Pace pace) {
  MutexLock commit_lock(commit_mutex_);
  std::vector<Transition> transitions;
  std::optional<HistoryState> history;
  {
    MutexLock lock(mutex_);
    if (pace == Pace::kWhenDue && !(SaveDueLocked() && SavePacedLocked())) return;
    transitions = tracker_.TakeTransitions();
    if (options_.save_history && (HistoryChangedLocked() || !held_.empty())) {
      history = tracker_.History();
      saved_versions_ = {tracker_.history_version(), tracker_.watermark_version()};
    }
  }
  if (options_.save_history) {
    held_.insert(held_.end(), std::make_move_iterator(transitions.begin()), std::make_move_iterator(transitions.end()));
    transitions.clear();
    const bool saved = !history || options_.save_history(*history);
    if (history) NoteSaveEnded(saved);
    if (saved || held_.size() > kMaxHeldTransitions) {
      if (!saved) {
        log::Error("The state file has not been written for too long: history is published unsaved, and a restart "
                   "may count it again", {{"transitions", held_.size()}});
      }
      transitions = std::exchange(held_, {});
    }
    holding_ = !held_.empty();
  }
  const bool debug = log::Enabled(log::Level::kDebug);
  for (const Transition& transition : transitions) {
    // Why a counter moved, job by job, for an operator who doubts a count.
    if (debug) {
      log::Debug("History counted", {{"project_id", transition.project_id},
                                     {"job_id", transition.job_id},
                                     {"job_type", transition.job_type},
                                     {"transition", Describe(transition)}});
    }
    if (options_.observer != nullptr) Deliver(transition, *options_.observer);
  }
}

// The pace counts from the end of a save (a slow disk is not written back to back), whichever thread made it. A
// failed save leaves the history to save again, even when no transition waits for it.
void Poller::NoteSaveEnded(bool saved) {
  MutexLock lock(mutex_);
  last_save_at_ = clock_.Steady();
  if (!saved) saved_versions_.reset();
}

void Poller::TransitionsDecided() {
  if (options_.save_history) {
    commit_wanted_.notify_one();
  } else {
    Commit();
  }
}

// Whether the committer should save now: transitions wait, or jobs' histories changed; or only a watermark moved,
// and the quiet interval has passed.
bool Poller::SaveDueLocked() const {
  if (tracker_.HasTransitions() || holding_) return true;  // held transitions: the save is tried again
  if (!saved_versions_ || saved_versions_->first != tracker_.history_version()) return true;
  // (No end of a save yet: the first one is still being written; Commit checks again once it has ended.)
  return HistoryChangedLocked() && (!last_save_at_ || clock_.Steady() - *last_save_at_ >= kQuietHistorySaveInterval);
}

bool Poller::SavePacedLocked() const {
  return !last_save_at_ || clock_.Steady() - *last_save_at_ >= kMinHistorySaveInterval;
}

// With a state file: one save (and the deliveries behind it) at most every kMinHistorySaveInterval, counting the
// saves other threads commit (a test's WaitUntilIdle).
void Poller::CommitLoop() {
  while (true) {
    {
      MutexLock lock(mutex_);
      // Woken by every decision; the timeout lets a quiet change reach the disk.
      const SteadyTime quiet_check =
          last_save_at_ ? *last_save_at_ + kQuietHistorySaveInterval : clock_.Steady() + kQuietHistorySaveInterval;
      while (!stopping_ && !SaveDueLocked() && clock_.WaitUntil(lock, commit_wanted_, quiet_check)) {
      }
      if (stopping_) return;
      if (!SaveDueLocked()) continue;
      while (!stopping_ && !SavePacedLocked() &&
             clock_.WaitUntil(lock, stop_requested_, *last_save_at_ + kMinHistorySaveInterval)) {
      }
      if (stopping_) return;
    }
    Commit(Pace::kWhenDue);
  }
}

// ---- Rounds ----

void Poller::ListDueProjects() {
  std::vector<JobTracker::ListPlan> due;
  {
    MutexLock lock(mutex_);
    due = tracker_.StartRound(Moment::Now(clock_));
  }
  for (const JobTracker::ListPlan& plan : due) {
    Walk(plan);
    std::optional<JobTracker::ListPlan> step;
    {
      MutexLock lock(mutex_);
      step = tracker_.NextFullWalkStep(plan.project_index, Moment::Now(clock_));
    }
    if (step) Walk(*step);
  }
}

// Reads the pages a plan asks for and hands them to the tracker.
void Poller::Walk(const JobTracker::ListPlan& plan) {
  auto read_page = [&](long offset, long limit) { return lister_->ListPage(*plan.context, offset, limit); };
  ListWalk walk;
  Fetched<BatchJobList> listing = WalkList(read_page, options_.tracking.list_page_size, plan.bounds, &walk);
  ReportListWalk(plan.context->project_id, walk, last_walk_problem_[plan.project_index], options_.observer);
  {
    MutexLock lock(mutex_);
    tracker_.ApplyListing(plan, listing, walk, Moment::Now(clock_));
    PublishLocked();  // new jobs show at once, with what the list says of them
  }
  work_done_.notify_all();  // jobs the list dropped may have been what a round waited for
  TransitionsDecided();
}

void Poller::RunRound() {
  StartWorkers();
  const SteadyTime started = clock_.Steady();
  ListDueProjects();
  {
    MutexLock lock(mutex_);
    tracker_.QueueDueFetches(Moment::Now(clock_));
    PublishLocked();
    ++work_queued_;
    work_available_.notify_all();
    while (!stopping_ && tracker_.urgent_pending() != 0) lock.Wait(work_done_);
    if (stopping_) return;
    const double seconds = Seconds(clock_.Steady() - started);
    tracker_.FinishRound(seconds, seconds > Seconds(options_.tracking.poll_interval));
    PublishLocked();
  }
  first_round_done_ = true;
}

void Poller::WaitUntilIdle() {
  {
    MutexLock lock(mutex_);
    while (!stopping_ && !tracker_.idle()) lock.Wait(work_done_);
  }
  Commit();  // waits for a worker's delivery in progress, and delivers what is left
}

void Poller::SchedulerLoop() {
  while (true) {
    const SteadyTime round_start = clock_.Steady();
    RunRound();
    ReleaseFreeMemory();  // what the round's answers and renderings used goes back to the system
    MutexLock lock(mutex_);
    // An overrun round leaves the next start in the past: the next round then starts at once.
    const SteadyTime next_round = round_start + options_.tracking.poll_interval;
    while (!stopping_ && clock_.WaitUntil(lock, stop_requested_, next_round)) {
    }
    if (stopping_) return;
  }
}

// ---- Workers ----

// The next job to fetch: urgent work first; background work only with a background slot of its endpoint that
// the worker has just taken (`held`; one is used up). The endpoints whose background work waits for a slot go to
// `wanted`.
std::optional<JobTracker::FetchTicket> Poller::NextFetchLocked(BackgroundSlots& held, BackgroundSlots& wanted) {
  return tracker_.NextFetch([&](const ProjectContext& project, FetchReason reason) {
    const std::shared_ptr<EndpointRateLimiter>& limiter = project.rate_limiter;
    if (IsUrgent(reason) || !limiter) return true;
    if (auto slot = std::find(held.begin(), held.end(), limiter); slot != held.end()) {
      held.erase(slot);
      return true;
    }
    if (std::find(wanted.begin(), wanted.end(), limiter) == wanted.end()) wanted.push_back(limiter);
    return false;
  });
}

// Background slots are asked for here, outside the poller's lock (the rate limiters have a lock of their own);
// the job they are for is picked under it at once. A slot the pick did not use (another worker took the job, or
// urgent work came first) is given up: the background share errs low, never high, and no slot is kept through a
// pause of the endpoint.
std::optional<JobTracker::FetchTicket> Poller::NextFetch() {
  BackgroundSlots held;
  while (true) {
    BackgroundSlots wanted;
    uint64_t queued_before;
    {
      MutexLock lock(mutex_);
      if (stopping_) return std::nullopt;
      std::optional<JobTracker::FetchTicket> ticket = NextFetchLocked(held, wanted);
      held.clear();
      if (ticket) return ticket;
      if (wanted.empty()) {
        lock.Wait(work_available_);
        continue;
      }
      queued_before = work_queued_;
    }
    auto retry_in = std::chrono::nanoseconds::max();
    for (const std::shared_ptr<EndpointRateLimiter>& limiter : wanted) {
      if (limiter->TryTakeBackgroundSlot()) {
        held.push_back(limiter);
        retry_in = std::chrono::nanoseconds::zero();
      } else {
        retry_in = std::min(retry_in, std::max<std::chrono::nanoseconds>(limiter->BackgroundDelay(),
                                                                          std::chrono::milliseconds(1)));
      }
    }
    if (retry_in == std::chrono::nanoseconds::zero()) continue;
    MutexLock lock(mutex_);
    // (Work queued while the lock was not held would find this worker not waiting yet: look again at once.)
    if (!stopping_ && work_queued_ == queued_before) {
      clock_.WaitUntil(lock, work_available_, clock_.Steady() + retry_in);
    }
  }
}

void Poller::WorkerLoop(std::unique_ptr<JobFetcher> fetcher) {
  while (true) {
    std::optional<JobTracker::FetchTicket> ticket = NextFetch();
    if (!ticket) return;  // stopping
    const JobTracker::JobKey& key = ticket->key;
    Fetched<BatchJob> result = fetcher->Fetch(*ticket->project, key.second, PriorityOf(ticket->reason));
    // Digest the answer outside the lock (scrapes and other workers go on): its text and its tasks' tally.
    JobTracker::Digest digest;
    if (result.ok()) {
      digest.tally = std::make_shared<const TaskTally>(TallyTasks(*result));
      if (options_.tracking.render_job) {
        JobSnapshot identity;
        identity.project_id = key.first;
        identity.job_id = key.second;
        digest.rendered = options_.tracking.render_job(identity, *result);
      }
    }
    {
      MutexLock lock(mutex_);
      tracker_.ApplyDetails(*ticket, result, std::move(digest), Moment::Now(clock_));
      PublishLocked();
    }
    work_done_.notify_all();
    TransitionsDecided();
  }
}

}  // namespace ief
