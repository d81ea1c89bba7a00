#include "poll/job_tracker.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/log.h"
#include "util/text.h"

namespace ief {

struct JobTracker::Project {
  std::shared_ptr<const ProjectContext> context;
  ProjectSnapshot state;
  bool discovery_enabled = false;
  std::optional<DiscoveryFilter> filter;
  Duration discovery_interval{};
  SteadyTime next_list_at{};
  std::optional<int64_t> job_count;  // from the latest list walk
  bool listed_this_round = false;
  std::string last_list_failure;     // for logging a failing list once
  std::set<std::string> logged_invalid_ids;
  // Walks of the whole list (README "Discovering jobs instead of listing them"): between two, walks read the head.
  Duration full_walk_interval{};  // 0: every walk reads the whole list
  SteadyTime next_full_walk_at{};
  bool order_trusted = true;      // the latest whole walk came back sorted newest first, as asked
  std::optional<int64_t> newest_created;  // the newest created_at the latest walk showed
  int64_t jobs_in_whole_walk = 0;         // how many jobs the latest walk of the whole list showed
  struct SpreadWalk;
  std::shared_ptr<SpreadWalk> spread;  // a walk of the whole list under way, a few pages a round; none between two
  uint64_t walk_epochs = 0;
  int64_t since = 0;              // history counts what happened after this API time (shown on the landing page)
  int64_t first_views_after = 0;  // jobs seen for the first time count what happened after this (ProjectHistory)
  int64_t watermark = 0;          // the latest API time seen here
};

// A walk of the whole list spread over the rounds of full_walk_interval. Jobs it shows (and those head walks show
// while it runs) are marked with its epoch; when it reaches the end, tracked jobs without the mark are verified
// by their details (a 404 drops them), since a list that shifted between two steps may have hidden them.
struct JobTracker::Project::SpreadWalk {
  uint64_t epoch = 0;
  SteadyTime started_at{};
  long next_offset = 0;
  long pages_per_step = 1;
  // Jobs created after the anchor push everything down: each step's offset moves by how many the head walks have
  // seen since the step before.
  int64_t anchor = 0;             // created_at of the newest job when the walk started
  long newer_than_anchor = 0;     // jobs newer than the anchor the latest head walk showed
  long newer_at_next_offset = 0;  // ... when next_offset was taken
  std::set<std::string> unwanted;  // jobs it showed that no longer match the filters
};

// How a job's first details are fetched.
enum class FirstDetails {
  kNews,      // a configured job, or one that appeared after its project was first listed: urgent
  kBaseline,  // found by its project's first listing (the start-up fill): background work
};

// A failing job's back-off.
struct FailureStreak {
  std::string last_message;  // of the latest failure; empty after a success
  int consecutive = 0;
  int rounds_to_skip = 0;
};

struct JobTracker::Job {
  size_t project_index = 0;
  std::string job_id;
  JobSource source = JobSource::kConfig;
  // The latest list summary, while a list covers the job.
  std::optional<BatchJob> listed;
  bool listed_this_round = false;
  int fetches_for_listing = 0;  // successful detail fetches since `listed` last changed
  // Fetching.
  bool in_flight = false;
  FirstDetails first_details = FirstDetails::kNews;
  std::optional<SteadyTime> details_at;   // when details last arrived
  std::optional<SteadyTime> answered_at;  // when the API last answered about it (a 404 included)
  bool render_stale = false;              // carried over a reload that changed how jobs are rendered
  bool expired = false;                   // finished longer ago than finished_job_retention: no series
  uint64_t seen_in_walk = 0;              // the epoch of the latest spread walk (or head walk during one) showing it
  bool unconfirmed = false;               // a spread walk did not show it: its details say whether it still exists
  FailureStreak failures;
  // History.
  JobHistory history;
  bool announced = false;          // reported as seen by this process
  bool stale_logged = false;       // a stale answer about it was logged
  // What scrapes see.
  std::shared_ptr<const JobSnapshot> published;
};

namespace {

// Invalid ids are logged once each, up to this many per project.
constexpr size_t kMaxLoggedInvalidIds = 100;

// A step of a spread walk re-reads this many jobs of the step before (a page's tenth): deleted jobs move the rest
// up, and this much overlap keeps a few deletions between two steps from hiding a job.
long StepOverlap(long page_size) { return std::max(1L, page_size / 10); }

// An API time further ahead of the local clock than this is taken for bad data (clocks differ by seconds, not
// hours): it does not move the watermark, which a restart would otherwise resume from, blind to everything before.
constexpr int64_t kMaxClockAheadSeconds = 5 * 60;

int64_t WholeSeconds(WallTime time) { return static_cast<int64_t>(UnixSeconds(time)); }

std::string_view RequestIdForLog(const FetchError& error) {
  return error.request_id.empty() ? std::string_view("-") : std::string_view(error.request_id);
}

}  // namespace

JobTracker::JobTracker(TrackerOptions options, std::vector<TrackedProject> projects, const Snapshot* previous,
                       HistoryState history, Moment now)
    : options_(std::move(options)) {
  std::sort(projects.begin(), projects.end(), [](const TrackedProject& a, const TrackedProject& b) {
    return a.context->project_id < b.context->project_id;
  });
  const int64_t started = WholeSeconds(options_.started_at);
  for (const TrackedProject& tracked : projects) {
    Project project;
    project.context = tracked.context;
    project.state.project_id = tracked.context->project_id;
    project.discovery_enabled = tracked.discovery.enabled;
    project.state.discovery_filter = DescribeFilter(tracked.discovery);
    if (tracked.discovery.enabled) {
      project.filter.emplace(tracked.discovery);
      project.discovery_interval = tracked.discovery.interval.value_or(options_.poll_interval);
      project.full_walk_interval = tracked.discovery.full_walk_interval;
    }
    project.since = project.watermark = started;
    // The start's own second is included: the API's clock has whole seconds.
    project.first_views_after = started - 1;
    projects_.push_back(std::move(project));
  }
  AdoptHistory(std::move(history), now);
  for (size_t i = 0; i < projects.size(); ++i) {
    for (const std::string& job_id : projects[i].job_ids) {
      if (InShard(job_id, options_.shard, options_.total_shards)) AddJob(i, job_id, JobSource::kConfig);
    }
  }
  if (previous != nullptr) SeedFrom(*previous, now);
  for (size_t i = 0; i < projects_.size(); ++i) {
    if (!projects_[i].discovery_enabled) ForgetUnclaimedHistory(i, now);  // no listing will claim it
  }
}

JobTracker::~JobTracker() = default;

// What was counted before: each project's start and watermark, and the jobs' histories, claimed by the jobs as
// they are tracked again. Jobs of another shard (after a resharding) and projects no longer configured are
// remembered like dropped jobs: kept in the state file for a while, where the replica that owns them now can take
// their history from, even if it starts after this replica wrote its file again (HistoryStore).
void JobTracker::AdoptHistory(HistoryState history, Moment now) {
  for (Project& project : projects_) {
    auto stored = history.projects.find(project.state.project_id);
    if (stored == history.projects.end()) continue;
    project.since = stored->second.since;
    project.first_views_after = stored->second.first_views_after;
    project.watermark = std::max(stored->second.watermark, stored->second.since);
    for (auto& [job_id, job_history] : stored->second.jobs) {
      const JobKey key{project.state.project_id, job_id};
      if (InShard(job_id, options_.shard, options_.total_shards)) {
        unclaimed_[key] = std::move(job_history);
      } else {
        RememberDropped(key, std::move(job_history), now.steady);
      }
    }
    history.projects.erase(stored);
  }
  for (auto& [project_id, project] : history.projects) {
    retired_projects_[project_id] = Retired{std::move(project), now.steady};
  }
  for (Project& project : projects_) project.state.history_since = FromApiSeconds(project.since);
}

JobTracker::Job& JobTracker::AddJob(size_t project_index, const std::string& job_id, JobSource source) {
  const std::string& project_id = projects_[project_index].state.project_id;
  const JobKey key{project_id, job_id};
  Job& job = jobs_[key];
  job.project_index = project_index;
  job.job_id = job_id;
  job.source = source;
  if (auto carried = unclaimed_.find(key); carried != unclaimed_.end()) {
    job.history = std::move(carried->second);
    unclaimed_.erase(carried);
  } else if (auto dropped = dropped_.find(key); dropped != dropped_.end()) {
    job.history = std::move(dropped->second.history);  // back after a short absence: only what changed counts
    dropped_.erase(dropped);
  }
  auto initial = std::make_shared<JobSnapshot>();
  initial->project_id = project_id;
  initial->job_id = job_id;
  initial->source = source;
  job.published = std::move(initial);
  ++history_version_;
  return job;
}

// Carries over what the previous poller showed: project states, configured jobs still listed, and discovered jobs
// of projects that still discover (the first listing then confirms or drops them). Carried details count as fresh,
// so a reload does not set off a wave of refreshes.
void JobTracker::SeedFrom(const Snapshot& previous, Moment now) {
  last_round_seconds_ = previous.last_round_seconds;
  has_completed_round_ = previous.has_completed_round;
  rounds_overrun_ = previous.rounds_overrun;
  for (Project& project : projects_) {
    for (const ProjectSnapshot& old : previous.projects) {
      if (old.project_id != project.state.project_id) continue;
      const std::string filter = project.state.discovery_filter;
      const WallTime since = project.state.history_since;
      project.state = old;
      project.state.history_since = since;
      // Jobs that match only under a new filter were there before: the first listing is a baseline again, so
      // they are background work and their finished tasks are not news.
      if (old.discovery_filter != filter) {
        project.state.listed = false;
        project.state.discovery_filter = filter;
      }
    }
  }
  auto discovering_project = [&](const std::string& project_id) -> std::optional<size_t> {
    for (size_t i = 0; i < projects_.size(); ++i) {
      if (projects_[i].state.project_id == project_id && projects_[i].discovery_enabled) return i;
    }
    return std::nullopt;
  };
  for (const auto& old : previous.expired_jobs) {
    if (jobs_.contains({old->project_id, old->job_id})) continue;  // configured now: it starts afresh, with series
    std::optional<size_t> project = discovering_project(old->project_id);
    if (!project || !InShard(old->job_id, options_.shard, options_.total_shards)) continue;
    Job& job = AddJob(*project, old->job_id, JobSource::kDiscovery);
    job.published = old;
    job.expired = true;
  }
  for (const auto& old : previous.jobs) {
    auto it = jobs_.find({old->project_id, old->job_id});
    Job* job = it != jobs_.end() ? &it->second : nullptr;
    if (job == nullptr && old->source == JobSource::kDiscovery &&
        InShard(old->job_id, options_.shard, options_.total_shards)) {
      if (std::optional<size_t> project = discovering_project(old->project_id)) {
        job = &AddJob(*project, old->job_id, JobSource::kDiscovery);
      }
    }
    if (job == nullptr) continue;
    auto carried = std::make_shared<JobSnapshot>(*old);
    carried->source = job->source;
    if (carried->has_details) {
      job->details_at = now.steady;
      job->answered_at = now.steady;
      job->render_stale = options_.rerender_carried_jobs;
    } else {
      job->first_details = FirstDetails::kBaseline;  // its first details were still to come: background work
      if (carried->last_good && options_.rerender_carried_jobs && options_.render_job) {
        carried->rendered = options_.render_job(*carried, *carried->last_good);
      }
    }
    job->published = std::move(carried);
  }
}

// History carried over for jobs that are not tracked (any more) is remembered like a dropped job's.
void JobTracker::ForgetUnclaimedHistory(size_t project_index, Moment now) {
  const std::string& project_id = projects_[project_index].state.project_id;
  for (auto it = unclaimed_.lower_bound({project_id, ""}); it != unclaimed_.end() && it->first.first == project_id;) {
    RememberDropped(it->first, std::move(it->second), now.steady);
    it = unclaimed_.erase(it);
  }
  ++history_version_;
}

HistoryState JobTracker::History() const {
  HistoryState state{.shard = options_.shard, .total_shards = options_.total_shards};
  for (const Project& project : projects_) {
    ProjectHistory& stored = state.projects[project.state.project_id];
    stored.since = project.since;
    stored.first_views_after = project.first_views_after;
    stored.watermark = project.watermark;
  }
  for (const auto& [project_id, retired] : retired_projects_) state.projects.emplace(project_id, retired.history);
  auto keep = [&](const JobKey& key, const JobHistory& history) {
    if (!history.counted) return;  // nothing seen: nothing to remember
    auto project = state.projects.find(key.first);
    if (project != state.projects.end()) project->second.jobs[key.second] = history;
  };
  for (const auto& [key, dropped] : dropped_) keep(key, dropped.history);
  for (const auto& [key, history] : unclaimed_) keep(key, history);
  for (const auto& [key, job] : jobs_) keep(key, job.history);
  return state;
}

// ---- Lists ----

std::shared_ptr<const ProjectContext> JobTracker::Context(size_t project_index) const {
  return projects_[project_index].context;
}

bool JobTracker::ListDue(const Project& project, SteadyTime now) const {
  if (project.discovery_enabled) {
    // Half a poll interval of slack: a listing due "at the next round" must not slip a whole round because the
    // round started a few microseconds early.
    return now + options_.poll_interval / 2 >= project.next_list_at;
  }
  // Configured jobs only: read the list when a walk costs fewer calls than polling the active jobs one by one
  // (never when every active job is read every round anyway).
  if (options_.active_refresh_interval == Duration(0)) return false;
  long polled = 0;
  for (auto it = jobs_.lower_bound({project.state.project_id, ""});
       it != jobs_.end() && it->first.first == project.state.project_id; ++it) {
    const JobSnapshot& shown = *it->second.published;
    if (shown.has_details && IsActiveStatus(shown.last_good->status)) ++polled;
  }
  return polled > ListWalkPages(project.job_count, options_.list_page_size);
}

std::vector<JobTracker::ListPlan> JobTracker::StartRound(Moment now) {
  std::vector<ListPlan> due;
  for (auto& [key, job] : jobs_) job.listed_this_round = false;
  for (size_t i = 0; i < projects_.size(); ++i) {
    Project& project = projects_[i];
    project.listed_this_round = false;
    if (!ListDue(project, now.steady)) continue;
    project.next_list_at = now.steady + project.discovery_interval;
    ListPlan plan{.project_index = i, .context = project.context, .kind = NextWalkKind(project)};
    if (plan.kind == WalkKind::kHead) {
      plan.bounds.stop_before_created = HeadHorizon(i, now);
      plan.bounds.newest_known = NewestKnownCreated(i);
    }
    due.push_back(std::move(plan));
  }
  return due;
}

JobTracker::WalkKind JobTracker::NextWalkKind(const Project& project) const {
  const bool head_is_enough = project.discovery_enabled && project.full_walk_interval > Duration(0) &&
                              project.state.listed && project.order_trusted;
  return head_is_enough ? WalkKind::kHead : WalkKind::kFull;
}

// How far down a head walk reads: to the oldest job still followed from the list (shown, not expired), but never
// further back than finished_job_retention and max_age reach (by created_at): what is older than that changes
// rarely, and its changes come through refreshes of its details and the walks of the whole list. While a spread
// walk runs, at least down to its anchor, so that its steps know how far new jobs pushed the list.
std::optional<int64_t> JobTracker::HeadHorizon(size_t project_index, Moment now) const {
  const Project& project = projects_[project_index];
  const std::string& project_id = project.state.project_id;
  int64_t horizon = std::numeric_limits<int64_t>::max();  // nothing followed: the first page is enough
  for (auto it = jobs_.lower_bound({project_id, ""}); it != jobs_.end() && it->first.first == project_id; ++it) {
    const Job& job = it->second;
    const BatchJob* shown = job.published->last_good.get();
    if (job.expired || shown == nullptr || !shown->created_at) continue;
    horizon = std::min(horizon, *shown->created_at);
  }
  const int64_t now_seconds = WholeSeconds(now.wall);
  auto not_before = [&](Duration back) {
    horizon = std::max(horizon, now_seconds - static_cast<int64_t>(Seconds(back)));
  };
  if (options_.finished_job_retention > Duration(0)) not_before(options_.finished_job_retention);
  if (project.filter && project.filter->max_age()) not_before(*project.filter->max_age());
  if (project.spread) horizon = std::min(horizon, project.spread->anchor);
  return horizon;
}

// The newest job the walks so far showed; after a reload (a new tracker), the newest of the jobs it carried over.
std::optional<int64_t> JobTracker::NewestKnownCreated(size_t project_index) const {
  const Project& project = projects_[project_index];
  if (project.newest_created) return project.newest_created;
  std::optional<int64_t> newest;
  const std::string& project_id = project.state.project_id;
  for (auto it = jobs_.lower_bound({project_id, ""}); it != jobs_.end() && it->first.first == project_id; ++it) {
    const BatchJob* shown = it->second.published->last_good.get();
    if (shown != nullptr && shown->created_at) newest = std::max(newest.value_or(*shown->created_at), *shown->created_at);
  }
  return newest;
}

void JobTracker::ApplyListing(const ListPlan& plan, const Fetched<BatchJobList>& listing, const ListWalk& walk,
                              Moment now) {
  const size_t project_index = plan.project_index;
  Project& project = projects_[project_index];
  const std::string& project_id = project.state.project_id;
  if (!listing.ok() && listing.error().kind == ErrorKind::kCancelled) return;
  project.state.has_answered = true;
  project.state.up = listing.ok() || listing.error().api_reachable();
  if (!listing.ok()) {
    const FetchError& error = listing.error();
    if (error.message != project.last_list_failure) {
      log::Warn("Job list failed; tracked jobs are kept", {{"project_id", project_id},
                                                           {"kind", ErrorKindName(error.kind)},
                                                           {"request_id", RequestIdForLog(error)},
                                                           {"err", error.message}});
    }
    project.last_list_failure = error.message;
    return;
  }
  project.last_list_failure.clear();
  ForgetDroppedLongAgo(now.steady);
  if (plan.kind != WalkKind::kFullStep) project.job_count = listing->job_count;
  project.listed_this_round = true;
  const size_t tracked_before = jobs_.size();
  std::set<std::string> shown;    // every job the walk showed
  std::set<std::string> matched;  // ... that this replica tracks
  std::optional<int64_t> oldest_shown;
  for (const BatchJob& summary : listing->jobs) {  // one view per job (WalkList keeps the newest)
    AdvanceWatermark(project, summary.status_last_updated_at, now);
    AdvanceWatermark(project, summary.created_at, now);
    shown.insert(summary.job_id);
    if (summary.created_at) oldest_shown = std::min(oldest_shown.value_or(*summary.created_at), *summary.created_at);
    TrackListedJob(project_index, summary, matched, now);
  }
  if (!project.state.listed && jobs_.size() > tracked_before) {
    log::Info("Discovered batch jobs", {{"project_id", project_id}, {"jobs", jobs_.size() - tracked_before}});
  }
  NoteFullWalkProgress(project, *listing, plan, walk);
  const bool whole_list = walk.end == ListWalkEnd::kComplete && plan.bounds.start_offset == 0;
  if (walk.out_of_order) project.order_trusted = false;  // a step of a spread walk too: the next walk reads it all
  if (whole_list && plan.kind != WalkKind::kFullStep) {
    project.order_trusted = !walk.out_of_order;
    project.jobs_in_whole_walk = walk.jobs;
    CompleteFullWalk(project_index, shown, matched, WalkKind::kFull, now);
  } else if (walk.end == ListWalkEnd::kComplete && plan.kind == WalkKind::kFullStep) {
    CompleteFullWalk(project_index, shown, matched, WalkKind::kFullStep, now);
  } else if (walk.end == ListWalkEnd::kHorizon && !walk.out_of_order && oldest_shown) {
    ConfirmHiddenInHead(project_index, shown, *oldest_shown, now);
  }
}

// Marks the jobs a walk showed while a spread walk runs, and moves the spread walk on.
void JobTracker::NoteFullWalkProgress(Project& project, const BatchJobList& listing, const ListPlan& plan,
                                      const ListWalk& walk) {
  std::optional<int64_t> newest;
  for (const BatchJob& summary : listing.jobs) {
    if (summary.created_at && (!newest || *summary.created_at > *newest)) newest = summary.created_at;
  }
  if (plan.kind != WalkKind::kFullStep && newest) project.newest_created = newest;
  Project::SpreadWalk* spread = project.spread.get();
  if (spread == nullptr) return;
  const std::string& project_id = project.state.project_id;
  long newer = 0;
  for (const BatchJob& summary : listing.jobs) {
    if (summary.created_at && *summary.created_at > spread->anchor) ++newer;
    auto job = jobs_.find({project_id, summary.job_id});
    if (job == jobs_.end()) continue;
    job->second.seen_in_walk = spread->epoch;
    job->second.unconfirmed = false;
  }
  if (plan.kind == WalkKind::kHead) {
    spread->newer_than_anchor = newer;
  } else if (plan.kind == WalkKind::kFullStep) {
    // On from where this step ended, a little back (StepOverlap), never back to where it began.
    spread->next_offset = std::max(plan.bounds.start_offset + 1,
                                   walk.next_offset - StepOverlap(options_.list_page_size));
    spread->newer_at_next_offset = spread->newer_than_anchor;
  }
}

// The pages of the whole list: as many as its job_count states or as the latest whole walk showed, whichever is
// more (a count that is missing or too small must not stretch the spread walk beyond full_walk_interval).
long JobTracker::SpreadStepPages(const Project& project) const {
  return std::max(ListWalkPages(project.job_count, options_.list_page_size),
                  ListWalkPages(project.jobs_in_whole_walk, options_.list_page_size));
}

std::optional<JobTracker::ListPlan> JobTracker::NextFullWalkStep(size_t project_index, Moment now) {
  Project& project = projects_[project_index];
  if (!project.listed_this_round || NextWalkKind(project) != WalkKind::kHead) return std::nullopt;
  if (!project.spread) {
    if (now.steady < project.next_full_walk_at) return std::nullopt;
    auto spread = std::make_shared<Project::SpreadWalk>();
    spread->epoch = ++project.walk_epochs;
    spread->started_at = now.steady;
    spread->anchor = project.newest_created.value_or(std::numeric_limits<int64_t>::max());
    // Spread over one full_walk_interval: as many pages a round as finish it in time, at least one.
    const double rounds = std::max(1.0, Seconds(project.full_walk_interval) / Seconds(project.discovery_interval));
    spread->pages_per_step =
        std::max<long>(1, static_cast<long>(std::ceil(static_cast<double>(SpreadStepPages(project)) / rounds)));
    project.spread = std::move(spread);
  }
  Project::SpreadWalk& spread = *project.spread;
  ListPlan plan{.project_index = project_index, .context = project.context, .kind = WalkKind::kFullStep};
  plan.bounds.start_offset = spread.next_offset + (spread.newer_than_anchor - spread.newer_at_next_offset);
  plan.bounds.max_pages = spread.pages_per_step;
  return plan;
}

// A walk of the whole list reached its end. All at once (kFull): what it did not show is gone. Spread (kFullStep):
// what no walk showed since it started may have been hidden by the list shifting between two steps, so its details
// decide (a 404 drops it); what no longer matches the filters goes.
void JobTracker::CompleteFullWalk(size_t project_index, const std::set<std::string>& shown,
                                  const std::set<std::string>& matched, WalkKind kind, Moment now) {
  Project& project = projects_[project_index];
  if (kind == WalkKind::kFull) {
    DropUnlisted(project_index, shown, matched, now);
    project.next_full_walk_at = now.steady + project.full_walk_interval;
  } else {
    const std::string& project_id = project.state.project_id;
    for (auto it = jobs_.lower_bound({project_id, ""}); it != jobs_.end() && it->first.first == project_id;) {
      auto current = it++;
      Job& job = current->second;
      if (job.source != JobSource::kDiscovery || job.in_flight) continue;
      if (project.spread->unwanted.contains(job.job_id)) {
        log::Info("Batch job no longer matches the filters; dropped", {{"project_id", project_id}, {"job_id", job.job_id}});
        DropDiscovered(current, now);
      } else if (job.seen_in_walk != project.spread->epoch) {
        ConfirmOrDrop(current, now);
      }
    }
    project.next_full_walk_at = project.spread->started_at + project.full_walk_interval;
  }
  project.spread.reset();
  ForgetUnclaimedHistory(project_index, now);  // what the list no longer shows is gone
  project.state.listed = true;
}

bool JobTracker::LogInvalidId(Project& project, const std::string& job_id) {
  Report(project.state.project_id, transition::InvalidJobId{});
  std::string shown_id = TruncateUtf8(job_id, kMaxIdLength);  // what is kept and logged is bounded
  if (project.logged_invalid_ids.size() < kMaxLoggedInvalidIds && project.logged_invalid_ids.insert(shown_id).second) {
    log::Warn("Listed batch job has an invalid id; skipped",
              {{"project_id", project.state.project_id}, {"job_id", QuoteForLog(shown_id)}});
  }
  return false;
}

void JobTracker::TrackListedJob(size_t project_index, const BatchJob& summary, std::set<std::string>& matched,
                                Moment now) {
  Project& project = projects_[project_index];
  const std::string& project_id = project.state.project_id;
  // Anything that came from the network is hostile until checked.
  if (!IsSafePathSegment(summary.job_id)) {
    LogInvalidId(project, summary.job_id);
    return;
  }
  if (!InShard(summary.job_id, options_.shard, options_.total_shards)) return;
  auto it = jobs_.find({project_id, summary.job_id});
  const bool wanted = project.discovery_enabled && project.filter->Matches(summary, now.wall);
  if (it == jobs_.end()) {
    if (!wanted) return;
    const bool back = dropped_.contains({project_id, summary.job_id});
    Job& added = AddJob(project_index, summary.job_id, JobSource::kDiscovery);
    added.first_details = project.state.listed ? FirstDetails::kNews : FirstDetails::kBaseline;
    // All of a new job's tasks finished while history was counted; not those of one back after an absence.
    if (project.state.listed && !back && !added.history.counted) added.history.tasks_from_zero = true;
    if (project.state.listed) {
      log::Info("Discovered batch job", {{"project_id", project_id}, {"job_id", summary.job_id}});
    }
    it = jobs_.find({project_id, summary.job_id});
  } else if (!wanted && it->second.source == JobSource::kDiscovery) {
    // No longer matches the filters (too old, say): the end of a walk of the whole list lets it go.
    if (project.spread) project.spread->unwanted.insert(summary.job_id);
    return;
  }
  Job& job = it->second;
  matched.insert(summary.job_id);
  job.listed_this_round = true;
  job.unconfirmed = false;  // listed: it exists
  if (!job.listed || SummaryDiffers(*job.listed, summary)) job.fetches_for_listing = 0;
  job.listed = summary;
  Count(job, summary, ViewSource::kList);
  SetExpired(job, job.source == JobSource::kDiscovery && FinishedLongAgo(summary, now));
  if (job.expired) {
    KeepListedSummary(job, summary);
  } else if (!job.published->has_details) {
    ShowListedValues(job, summary, now);
  }
}

void JobTracker::AdvanceWatermark(Project& project, const std::optional<int64_t>& api_time, Moment now) {
  if (!api_time || *api_time <= project.watermark) return;
  if (*api_time > WholeSeconds(now.wall) + kMaxClockAheadSeconds) return;  // from the far future: bad data
  project.watermark = *api_time;
  ++watermark_version_;
}

// A discovered job whose series have outlived finished_job_retention: it stays known (a retry brings it back, and
// its history is counted right), but it has no series and costs no API call.
bool JobTracker::FinishedLongAgo(const BatchJob& summary, Moment now) const {
  if (options_.finished_job_retention == Duration(0) || !IsFinishedStatus(summary.status)) return false;
  if (!summary.status_last_updated_at) return false;
  return FromApiSeconds(*summary.status_last_updated_at) < now.wall - options_.finished_job_retention;
}

void JobTracker::SetExpired(Job& job, bool expired) {
  if (job.expired == expired) return;
  job.expired = expired;
  if (expired) queue_.Remove({projects_[job.project_index].state.project_id, job.job_id});
  if (!expired) job.first_details = FirstDetails::kNews;  // retried: its details are a new job's, not background
  log::Debug(expired ? "Batch job finished long ago: its series go" : "Batch job active again: its series return",
             {{"project_id", projects_[job.project_index].state.project_id}, {"job_id", job.job_id}});
}

// An expired job keeps its summary only (no text, no tally): what a reload needs to carry it over.
void JobTracker::KeepListedSummary(Job& job, const BatchJob& summary) {
  const JobSnapshot& shown = *job.published;
  if (shown.last_good && !shown.rendered && !shown.tally && !SummaryDiffers(*shown.last_good, summary)) return;
  auto kept = std::make_shared<JobSnapshot>();
  kept->project_id = shown.project_id;
  kept->job_id = shown.job_id;
  kept->source = shown.source;
  kept->last_good = std::make_shared<const BatchJob>(summary);
  job.published = std::move(kept);
}

// A job without details yet is shown with what the list says of it.
void JobTracker::ShowListedValues(Job& job, const BatchJob& summary, Moment now) {
  auto next = std::make_shared<JobSnapshot>(*job.published);
  next->last_fetch_ok = true;
  next->last_success = now.wall;
  const bool changed = !next->last_good || SummaryDiffers(*next->last_good, summary) ||
                       next->last_good->job_name != summary.job_name;
  if (changed) {
    next->last_good = std::make_shared<const BatchJob>(summary);
    next->rendered = options_.render_job ? options_.render_job(*next, summary) : nullptr;
  }
  job.published = std::move(next);
}

// Discovered jobs that left the list (deleted) or no longer match stop being tracked; configured jobs the list
// no longer shows stay, polled one by one again.
// After a walk of the whole list all at once: a configured job it did not show loses its list view; a discovered
// one it showed that no longer matches the filters goes; one it did not show may only have been hidden by the
// list shifting between two pages (jobs deleted above it while the walk went), so ConfirmOrDrop.
void JobTracker::DropUnlisted(size_t project_index, const std::set<std::string>& shown,
                              const std::set<std::string>& matched, Moment now) {
  const Project& project = projects_[project_index];
  const std::string& project_id = project.state.project_id;
  for (auto it = jobs_.lower_bound({project_id, ""}); it != jobs_.end() && it->first.first == project_id;) {
    Job& job = it->second;
    auto current = it++;
    if (matched.count(job.job_id) != 0) continue;
    if (job.source == JobSource::kConfig) {
      job.listed.reset();
    } else if (project.discovery_enabled && !job.in_flight) {
      if (shown.contains(job.job_id)) {
        log::Info("Batch job no longer matches the filters; dropped", {{"project_id", project_id}, {"job_id", job.job_id}});
        DropDiscovered(current, now);
      } else {
        ConfirmOrDrop(current, now);
      }
    }
  }
}

// After a head walk that stopped at its horizon, in a list sorted as asked: a discovered job created after the
// oldest job the walk showed should have been on its pages. Not there, it was deleted, or hidden by a shift
// between two pages: ConfirmOrDrop.
void JobTracker::ConfirmHiddenInHead(size_t project_index, const std::set<std::string>& shown, int64_t newer_than,
                                     Moment now) {
  const std::string& project_id = projects_[project_index].state.project_id;
  for (auto it = jobs_.lower_bound({project_id, ""}); it != jobs_.end() && it->first.first == project_id;) {
    auto current = it++;
    const Job& job = current->second;
    if (job.source != JobSource::kDiscovery || job.in_flight || shown.contains(job.job_id)) continue;
    const BatchJob* seen = job.listed ? &*job.listed : job.published->last_good.get();
    if (seen != nullptr && seen->created_at && *seen->created_at > newer_than) ConfirmOrDrop(current, now);
  }
}

// A discovered job a walk should have shown and did not. A finished job's tombstone goes (had it only been hidden,
// its history is kept and it comes back as it was); any other job's details decide (a 404 drops it).
void JobTracker::ConfirmOrDrop(JobMap::iterator job, Moment now) {
  if (job->second.expired) {
    DropDiscovered(job, now);
  } else {
    job->second.unconfirmed = true;
  }
}

// ---- What to fetch ----

std::optional<FetchReason> JobTracker::RefreshIfDue(const Job& job, std::string_view status, SteadyTime now) const {
  if (!IsActiveStatus(status)) return std::nullopt;
  return RefreshDue(job, now);
}

std::optional<FetchReason> JobTracker::RefreshDue(const Job& job, SteadyTime now) const {
  if (options_.active_refresh_interval == Duration(0)) return FetchReason::kChanged;  // "every round", as asked
  if (!job.details_at || now - *job.details_at >= options_.active_refresh_interval) return FetchReason::kRefresh;
  return std::nullopt;
}

// Details older than the list (a lagging replica answered), once the fetches a list version may cost are spent: read
// again after 1, 2, 4... poll intervals, up to active_refresh_interval, finished job or not, so the job neither shows
// old details for long nor costs a call every round.
// A finished job whose final tasks are still owed (FinalTasksOwed) is read again at urgent priority for the first
// kMaxFinalTasksRereads of these: background work can wait for ever on an endpoint busy with urgent work, and a count
// waits for these details.
std::optional<FetchReason> JobTracker::LaggingDetailsDue(const Job& job, SteadyTime now) const {
  if (options_.active_refresh_interval == Duration(0)) return FetchReason::kChanged;
  const int rereads = job.fetches_for_listing - kMaxFetchesPerListing;
  const int doublings = std::clamp(rereads, 0, 16);
  const Duration wait = std::min<Duration>(options_.active_refresh_interval, options_.poll_interval * (1 << doublings));
  if (job.details_at && now - *job.details_at < wait) return std::nullopt;
  const bool counts_wait = FinalTasksOwed(job) && rereads < kMaxFinalTasksRereads;
  return counts_wait ? FetchReason::kChanged : FetchReason::kRefresh;
}

// The job's finish was counted and its last tasks were not: the details read since show the job at work (a lagging
// replica), or an earlier finish (it was retried), or, after a restart, the stored baseline is older than the finish
// or holds fewer tasks than the list counts finished; or no details were ever counted while its tasks are news.
// Only its details can tell those tasks.
bool JobTracker::FinalTasksOwed(const Job& job) const {
  const JobHistory& history = job.history;
  if (!history.counted || !IsFinishedStatus(history.counted->status) || !history.counted->updated_at) return false;
  const int64_t finished_at = *history.counted->updated_at;
  if (!history.tasks) return finished_at > NewsAfter(job) && TasksAreNews(job, history.counted->created_at);
  const JobSnapshot& shown = *job.published;
  if (shown.has_details && shown.last_good) return !ShowsFinish(*shown.last_good, finished_at);
  if (history.tasks->retried_at) return true;
  const std::optional<int64_t>& tasks_at = history.tasks->job_updated_at;
  return (tasks_at && *tasks_at < finished_at) || ListShowsMoreFinishedTasks(job);
}

// Whether these details show the finish counted at `finished_at`: a terminal status, dated within a minute of it
// (the API's clock wavers; a retried job's new end is further away).
bool JobTracker::ShowsFinish(const BatchJob& details, int64_t finished_at) {
  const std::optional<double> apart = SecondsBetween(finished_at, details.status_last_updated_at);
  return IsFinishedStatus(details.status) && apart && std::abs(*apart) < static_cast<double>(kMinRetrySeconds);
}

// Whether the list shows the job finished with more tasks finished than its history counted.
bool JobTracker::ListShowsMoreFinishedTasks(const Job& job) {
  if (!job.listed || !IsFinishedStatus(job.listed->status) || !job.history.tasks) return false;
  if (!job.listed->task_success_count && !job.listed->task_failed_count) return false;
  return job.listed->CountedFinishedTasks() > static_cast<double>(FinishedTasks(*job.history.tasks));
}

// Details that are older than the list (a lagging replica answered): once the fetches a list version may cost are
// spent, they are re-read on the refresh schedule, finished job or not, so the job does not show old details forever.
bool JobTracker::DetailsBehindList(const Job& job) const {
  const BatchJob& shown = *job.published->last_good;
  return job.listed && job.listed->status_last_updated_at && shown.status_last_updated_at &&
         *shown.status_last_updated_at < *job.listed->status_last_updated_at;
}

std::optional<FetchReason> JobTracker::NeedsFetch(Job& job, SteadyTime now) const {
  if (job.in_flight || job.expired) return std::nullopt;  // never queue a job twice
  if (job.failures.rounds_to_skip > 0) {                 // backing off after repeated failures
    --job.failures.rounds_to_skip;
    return std::nullopt;
  }
  const JobSnapshot& shown = *job.published;
  if (!shown.has_details) {
    if (job.source == JobSource::kConfig || job.first_details == FirstDetails::kNews) return FetchReason::kNew;
    if (FinalTasksOwed(job)) return FetchReason::kChanged;  // a count waits for these details: not background work
    const bool active = !shown.last_good || IsActiveStatus(shown.last_good->status);
    if (!active) return FetchReason::kFillFinished;
    // active_refresh_interval 0s asks for every active job every round: its first read included.
    return options_.active_refresh_interval == Duration(0) ? FetchReason::kChanged : FetchReason::kFillActive;
  }
  if (job.render_stale || job.unconfirmed) return FetchReason::kRefresh;
  const Project& project = projects_[job.project_index];
  if (job.listed && job.listed_this_round) {
    if (SummaryDiffers(*job.listed, *shown.last_good) &&
        job.fetches_for_listing < kMaxFetchesPerListing) {
      return FetchReason::kChanged;
    }
    if (DetailsBehindList(job) || FinalTasksOwed(job)) return LaggingDetailsDue(job, now);
    return RefreshIfDue(job, job.listed->status, now);
  }
  if (FinalTasksOwed(job)) return LaggingDetailsDue(job, now);
  // Not in this round's walk (no walk this round, or a head walk that stopped above it): refreshes keep it current.
  if (job.source == JobSource::kDiscovery || project.discovery_enabled) {
    return RefreshIfDue(job, shown.last_good->status, now);
  }
  // A configured job no list covers: nothing but its details can tell whether it changed.
  if (IsActiveStatus(shown.last_good->status)) return FetchReason::kChanged;
  if (!job.answered_at || now - *job.answered_at >= options_.terminal_recheck_interval) return FetchReason::kRefresh;
  return std::nullopt;
}

// Whether this round's list says the job's details are current: it agrees with them (or they were read twice since
// the list last changed), and the latest fetch did not fail; a job backing off after failures stays failed.
bool JobTracker::ListConfirmsDetails(const Job& job) const {
  const JobSnapshot& shown = *job.published;
  if (!job.listed_this_round || !job.listed || !shown.has_details || !shown.last_good) return false;
  if (job.in_flight || job.expired || !shown.last_fetch_ok) return false;
  return !SummaryDiffers(*job.listed, *shown.last_good) || job.fetches_for_listing >= kMaxFetchesPerListing;
}

void JobTracker::QueueDueFetches(Moment now) {
  for (auto& [key, job] : jobs_) {
    if (!job.listed_this_round) ExpireUnlisted(job, now);
    std::optional<FetchReason> reason = NeedsFetch(job, now.steady);
    if (reason) {
      // Refreshes go oldest first; the others in the order they were asked for.
      queue_.Push(key, *reason, *reason == FetchReason::kRefresh ? job.details_at.value_or(now.steady) : now.steady);
    } else if (ListConfirmsDetails(job)) {
      // The list confirms the details are current: that counts as a successful look at the job.
      auto confirmed = std::make_shared<JobSnapshot>(*job.published);
      confirmed->last_fetch_ok = true;
      confirmed->last_success = now.wall;
      job.published = std::move(confirmed);
    }
  }
}

// A discovered job no walk showed this round still goes finished_job_retention after it finished, by what its
// details (or its last list summary) say.
void JobTracker::ExpireUnlisted(Job& job, Moment now) {
  const BatchJob* shown = job.published->last_good.get();
  if (job.expired || job.source != JobSource::kDiscovery || shown == nullptr || !FinishedLongAgo(*shown, now)) return;
  SetExpired(job, true);
  KeepListedSummary(job, SummaryOf(*shown));
}

void JobTracker::FinishRound(double seconds, bool overran) {
  last_round_seconds_ = seconds;
  has_completed_round_ = true;
  if (overran) ++rounds_overrun_;
}

std::optional<JobTracker::FetchTicket> JobTracker::NextFetch(
    const std::function<bool(const ProjectContext&, FetchReason)>& admit) {
  // `admit` decides background work per project: once it refused one project's, the rest of that project's
  // background entries are passed over without a look-up (a first fill queues thousands of them, and workers ask
  // again every few milliseconds while the endpoint has no background slot free).
  std::vector<std::string_view> refused_projects;
  auto next = queue_.Pop([&](const JobKey& key, FetchReason reason) {
    const bool urgent = IsUrgent(reason);
    if (!urgent && std::find(refused_projects.begin(), refused_projects.end(), key.first) != refused_projects.end()) {
      return false;
    }
    if (admit(*projects_[jobs_.at(key).project_index].context, reason)) return true;
    if (!urgent) refused_projects.push_back(key.first);
    return false;
  });
  if (!next) return std::nullopt;
  Job& job = jobs_.at(next->first);
  job.in_flight = true;
  ++in_flight_;
  if (IsUrgent(next->second)) ++urgent_in_flight_;
  return FetchTicket{next->first, next->second, projects_[job.project_index].context};
}

// ---- Details ----

void JobTracker::ApplyDetails(const FetchTicket& ticket, const Fetched<BatchJob>& result, Digest digest, Moment now) {
  auto it = jobs_.find(ticket.key);
  if (it == jobs_.end() || it->second.in_flight) {  // (an answer nobody asked for, in tests, is applied all the same)
    --in_flight_;
    if (IsUrgent(ticket.reason)) --urgent_in_flight_;
  }
  if (it == jobs_.end()) return;
  Job& job = it->second;
  job.in_flight = false;
  if (!result.ok() && result.error().kind == ErrorKind::kCancelled) return;  // stopping: nothing was learnt
  Project& project = projects_[job.project_index];
  project.state.has_answered = true;
  project.state.up = result.ok() || result.error().api_reachable();

  if (!result.ok() && result.error().kind == ErrorKind::kNotFound && job.source == JobSource::kDiscovery) {
    log::Info("Discovered batch job answers 404; dropped", {{"project_id", ticket.key.first},
                                                           {"job_id", ticket.key.second}});
    DropDiscovered(it, now);
    return;
  }
  if (result.ok()) {
    job.unconfirmed = false;  // still there
    AdvanceWatermark(project, result->status_last_updated_at, now);
    AdvanceWatermark(project, result->created_at, now);
    Count(job, *result, ViewSource::kDetails);
    // Tasks of another incarnation of the job (details that still serve the one deleted) are not this job's.
    const std::optional<int64_t> counted_created = job.history.counted ? job.history.counted->created_at : std::nullopt;
    const bool same_job = !counted_created || !result->created_at || *counted_created == *result->created_at;
    if (digest.tally && same_job) {
      CountTasks(job.history, TaskView{*digest.tally, result->status_last_updated_at, result->status},
                 {.count_first = TasksAreNews(job, result->created_at), .count_nodes = options_.count_node_failures},
                 ContextFor(job, *result), transitions_);
      ++history_version_;
    }
    ShowDetails(job, *result, std::move(digest), now);
  } else {
    auto failed = std::make_shared<JobSnapshot>(*job.published);
    failed->last_fetch_ok = false;
    job.published = std::move(failed);
  }
  if (result.ok() || result.error().api_reachable()) job.answered_at = now.steady;
  RecordOutcome(job, result);
}

// Details replace what is shown, unless they are older than the details shown already (a lagging replica). The end
// of a job shown at work is not older, even when the API dates it a little before (EndsJustBefore).
void JobTracker::ShowDetails(Job& job, const BatchJob& details, Digest digest, Moment now) {
  const JobSnapshot& shown = *job.published;
  const bool older = shown.has_details && shown.last_good && shown.last_good->status_last_updated_at &&
                     details.status_last_updated_at &&
                     *details.status_last_updated_at < *shown.last_good->status_last_updated_at &&
                     !EndsJustBefore(StatusView::Of(*shown.last_good, ViewSource::kDetails),
                                     StatusView::Of(details, ViewSource::kDetails));
  auto next = std::make_shared<JobSnapshot>(shown);
  next->last_fetch_ok = true;
  next->last_success = now.wall;
  if (!older) {
    // With the text rendered, the tasks are not needed any more: keep the summary only (memory).
    next->last_good = std::make_shared<const BatchJob>(digest.rendered ? SummaryOf(details) : details);
    next->rendered = std::move(digest.rendered);
    next->tally = std::move(digest.tally);
    next->has_details = true;
  }
  job.published = std::move(next);
  job.details_at = now.steady;
  job.render_stale = false;
  if (job.listed) ++job.fetches_for_listing;
}

// Failure back-off and logging: one warning when a job starts failing or fails differently, one info line when
// it recovers; repeats of the same failure go to debug, so a job that stays broken does not flood the log.
void JobTracker::RecordOutcome(Job& job, const Fetched<BatchJob>& result) {
  FailureStreak& failures = job.failures;
  const std::string previous_failure = failures.last_message;
  failures.last_message = result.ok() ? "" : result.error().message;
  failures.consecutive = result.ok() ? 0 : failures.consecutive + 1;
  // 0, 1, 3, 3... rounds skipped after the 1st, 2nd, 3rd... failure in a row.
  failures.rounds_to_skip = std::min((1 << std::min(std::max(failures.consecutive - 1, 0), 4)) - 1, kMaxSkippedRounds);

  const std::string& project_id = projects_[job.project_index].state.project_id;
  if (result.ok()) {
    if (!previous_failure.empty()) log::Info("Job fetch recovered", {{"project_id", project_id}, {"job_id", job.job_id}});
    return;
  }
  const FetchError& error = result.error();
  const bool repeated = previous_failure == error.message;
  if (repeated && !log::Enabled(log::Level::kDebug)) return;
  log::Write(repeated ? log::Level::kDebug : log::Level::kWarn, "Job fetch failed",
             {{"project_id", project_id},
              {"job_id", job.job_id},
              {"kind", ErrorKindName(error.kind)},
              {"status", error.http_status},
              {"request_id", RequestIdForLog(error)},
              {"err", error.message}});
}

// ---- History ----

CountContext JobTracker::ContextFor(const Job& job, const BatchJob& view) const {
  const Project& project = projects_[job.project_index];
  return CountContext{.project_id = project.state.project_id,
                      .job_id = job.job_id,
                      .job_type = view.job_type,
                      .first_views_after = project.first_views_after};
}

void JobTracker::Count(Job& job, const BatchJob& view, ViewSource source) {
  if (view.status.empty()) return;
  const CountContext context = ContextFor(job, view);
  if (!job.announced) {
    job.announced = true;
    transitions_.push_back({std::string(context.project_id), job.job_id, view.job_type, transition::Seen{}});
  }
  const JobHistory before = job.history;
  const ViewOrder order = CountStatus(job.history, StatusView::Of(view, source), context, transitions_);
  if (job.history != before) ++history_version_;
  if (order == ViewOrder::kRecreated) {
    log::Info("Batch job was created again under the same id: counted as a new job",
              {{"project_id", context.project_id}, {"job_id", job.job_id}});
  }
  if ((order == ViewOrder::kStale || order == ViewOrder::kConflict) && !job.stale_logged) {
    job.stale_logged = true;
    const StatusView& counted = *job.history.counted;
    log::Warn("An answer older than what was already seen of a job is ignored (logged once per job)",
              {{"project_id", context.project_id},
               {"job_id", job.job_id},
               {"source", ViewSourceName(source)},
               {"status", view.status},
               {"status_last_updated_at", view.status_last_updated_at.value_or(0)},
               {"seen_status", counted.status},
               {"seen_status_last_updated_at", counted.updated_at.value_or(0)},
               {"seen_from", ViewSourceName(counted.source)}});
  }
}

// Whether every task a job's first details show finished is news: the job appeared while the exporter watched its
// project's list, or it was created (`created_at`) after the point its history counts from (news_after: where the
// project's history was when the job was first seen, by this process or an earlier one; the project's point for
// state files without it).
bool JobTracker::TasksAreNews(const Job& job, std::optional<int64_t> created_at) const {
  return job.history.tasks_from_zero || (created_at && *created_at > NewsAfter(job));
}

int64_t JobTracker::NewsAfter(const Job& job) const {
  return job.history.news_after.value_or(projects_[job.project_index].first_views_after);
}

void JobTracker::Report(const std::string& project_id, TransitionEvent event) {
  transitions_.push_back({project_id, "", "", std::move(event)});
}

void JobTracker::DropDiscovered(JobMap::iterator job, Moment now) {
  if (job->second.history.counted) RememberDropped(job->first, std::move(job->second.history), now.steady);
  EraseJob(job);
}

void JobTracker::RememberDropped(const JobKey& key, JobHistory history, SteadyTime now) {
  if (dropped_.size() < kMaxRememberedDropped || dropped_.contains(key)) {
    dropped_[key] = Dropped{std::move(history), now};
  }
}

void JobTracker::ForgetDroppedLongAgo(SteadyTime now) {
  const size_t before = dropped_.size();
  std::erase_if(dropped_, [&](const auto& entry) { return now - entry.second.dropped_at >= kRememberDroppedFor; });
  const size_t projects_before = retired_projects_.size();
  std::erase_if(retired_projects_,
                [&](const auto& entry) { return now - entry.second.retired_at >= kRememberDroppedFor; });
  if (dropped_.size() != before || retired_projects_.size() != projects_before) ++history_version_;
}

void JobTracker::EraseJob(JobMap::iterator job) {
  queue_.Remove(job->first);
  jobs_.erase(job);
  ++history_version_;
}

std::shared_ptr<Snapshot> JobTracker::MakeSnapshot() const {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->projects.reserve(projects_.size());
  for (const Project& project : projects_) snapshot->projects.push_back(project.state);
  snapshot->jobs.reserve(jobs_.size());
  for (const auto& [key, job] : jobs_) {
    (job.expired ? snapshot->expired_jobs : snapshot->jobs).push_back(job.published);
  }
  snapshot->last_round_seconds = last_round_seconds_;
  snapshot->has_completed_round = has_completed_round_;
  snapshot->rounds_overrun = rounds_overrun_;
  return snapshot;
}

}  // namespace ief
