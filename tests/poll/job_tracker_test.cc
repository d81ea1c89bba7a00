// The counting rules as a table: given this sequence of list walks, detail answers, reloads and restarts, expect
// exactly these transitions. Each row drives a JobTracker directly (no threads, no sockets), as the poller would.
#include "poll/job_tracker.h"

#include <catch2/catch.hpp>

#include "poll/history_file.h"
#include "support/manual_clock.h"

namespace {

using namespace std::chrono_literals;

constexpr int64_t kStart = 1700000000;    // the exporter starts here (the tracker's started_at)
constexpr int64_t kCreated = kStart - 600;  // jobs were created ten minutes before that, unless a row says otherwise

struct TaskSpec {
  std::string status;
  std::string reason;
};

// A job as the API shows it: `updated` and `created` are offsets from kStart.
ief::BatchJob View(const std::string& status, int64_t updated, int64_t created = kCreated - kStart,
                   std::vector<TaskSpec> tasks = {}, const std::string& id = "j") {
  ief::BatchJob job;
  job.job_id = id;
  job.job_name = "name-" + id;
  job.job_type = "node_upgrade";
  job.status = status;
  job.status_last_updated_at = kStart + updated;
  job.created_at = kStart + created;
  job.has_tasks = !tasks.empty();
  int n = 0;
  for (const TaskSpec& spec : tasks) {
    ief::BatchTask task;
    task.task_id = "t" + std::to_string(n);
    task.target_id = "node-" + std::to_string(n++);
    task.status = spec.status;
    task.reason = spec.reason;
    job.tasks.push_back(task);
  }
  return job;
}

ief::BatchJob Untimed(ief::BatchJob job) {
  job.status_last_updated_at.reset();
  return job;
}

struct Step {
  enum class Kind { kList, kDetails, kDetailsFail, kReload, kRestart, kWait };
  Kind kind;
  std::vector<ief::BatchJob> views;    // kList: the walk's items; kDetails: the one answer
  std::vector<std::string> expected;   // transitions in order ("seen" left out)
  std::chrono::seconds wait{30};       // time that passes before the step
};

Step List(std::vector<ief::BatchJob> items, std::vector<std::string> expected = {}) {
  return {Step::Kind::kList, std::move(items), std::move(expected)};
}
Step Details(ief::BatchJob answer, std::vector<std::string> expected = {}) {
  return {Step::Kind::kDetails, {std::move(answer)}, std::move(expected)};
}
Step DetailsFail() { return {Step::Kind::kDetailsFail, {}, {}}; }
Step Reload(std::vector<std::string> expected = {}) { return {Step::Kind::kReload, {}, std::move(expected)}; }
// A graceful restart: the history saved (through the state file's encoding) and read back by a new process.
Step Restart() { return {Step::Kind::kRestart, {}, {}}; }
Step Wait(std::chrono::seconds seconds) { return {Step::Kind::kWait, {}, {}, seconds}; }

struct Row {
  std::string name;
  std::vector<Step> steps;
};

// Drives one JobTracker (and the ones that replace it) through a row's steps.
class Harness {
 public:
  Harness() { Build(nullptr, {}); }

  std::vector<std::string> Run(const Step& step) {
    std::vector<std::string> duplicates;  // conflicting copies the walk met
    clock_.Advance(step.wait);
    const ief::Moment now = ief::Moment::Now(clock_);
    switch (step.kind) {
      case Step::Kind::kList: {
        std::vector<ief::JobTracker::ListPlan> plans = tracker_->StartRound(now);
        REQUIRE(plans.size() == 1);
        // Through the real walk, as the poller reads a list: one page holding the step's items.
        auto one_page = [&](long offset, long) -> ief::Fetched<ief::BatchJobList> {
          ief::BatchJobList page;
          page.job_count = static_cast<int64_t>(step.views.size());
          if (offset == 0) page.jobs = step.views;
          return page;
        };
        ief::ListWalk walk;
        ief::Fetched<ief::BatchJobList> listing = ief::WalkList(one_page, 100, plans[0].bounds, &walk);
        for (int64_t i = 0; i < walk.conflicting_copies; ++i) duplicates.push_back("duplicate");
        tracker_->ApplyListing(plans[0], listing, walk, now);
        break;
      }
      case Step::Kind::kDetails:
      case Step::Kind::kDetailsFail: {
        const std::string job_id = step.views.empty() ? "j" : step.views.front().job_id;
        ief::JobTracker::FetchTicket ticket{{"p", job_id}, ief::FetchReason::kChanged, tracker_->Context(0)};
        if (step.kind == Step::Kind::kDetailsFail) {
          tracker_->ApplyDetails(ticket, ief::FetchError{.kind = ief::ErrorKind::kHttpStatus, .message = "HTTP 500"},
                                 {}, now);
        } else {
          const ief::BatchJob& answer = step.views.front();
          auto tally = std::make_shared<const ief::TaskTally>(ief::TallyTasks(answer));
          tracker_->ApplyDetails(ticket, answer, {.tally = answer.has_tasks ? tally : nullptr}, now);
        }
        break;
      }
      case Step::Kind::kReload: {
        auto previous = tracker_->MakeSnapshot();
        Build(previous.get(), tracker_->History());
        break;
      }
      case Step::Kind::kRestart: {
        ief::Result<ief::HistoryState> read = ief::DecodeHistory(ief::EncodeHistory(tracker_->History()));
        REQUIRE(read.ok());
        options_.started_at = clock_.Wall();
        Build(nullptr, ief::ResumeAfterRestart(*read));
        break;
      }
      case Step::Kind::kWait:
        break;
    }
    std::vector<std::string> described = std::move(duplicates);
    duplicates.clear();
    for (const ief::Transition& transition : tracker_->TakeTransitions()) {
      std::string text = ief::Describe(transition);
      if (text != "seen") described.push_back(text);
    }
    return described;
  }

  ief::JobTracker& tracker() { return *tracker_; }

  // The fetches due now, by job id, with why each is worth a call. None is made: they are cancelled.
  std::map<std::string, ief::FetchReason> DueFetches() {
    const ief::Moment now = ief::Moment::Now(clock_);
    tracker_->QueueDueFetches(now);
    std::vector<ief::JobTracker::FetchTicket> tickets;
    while (auto ticket = tracker_->NextFetch([](const ief::ProjectContext&, ief::FetchReason) { return true; })) {
      tickets.push_back(*ticket);
    }
    std::map<std::string, ief::FetchReason> due;
    for (const auto& ticket : tickets) {
      due[ticket.key.second] = ticket.reason;
      tracker_->ApplyDetails(ticket, ief::FetchError{.kind = ief::ErrorKind::kCancelled}, {}, now);
    }
    return due;
  }

 private:
  void Build(const ief::Snapshot* previous, ief::HistoryState history) {
    if (options_.started_at == ief::WallTime{}) options_.started_at = clock_.Wall();
    options_.count_node_failures = true;
    auto context = std::make_shared<ief::ProjectContext>();
    context->project_id = "p";
    ief::TrackedProject project{context, {}, {}};
    project.discovery.enabled = true;
    project.discovery.interval = 0s;
    tracker_ = std::make_unique<ief::JobTracker>(options_, std::vector<ief::TrackedProject>{project}, previous,
                                                 std::move(history), ief::Moment::Now(clock_));
  }

  ief::testing::ManualClock clock_{static_cast<double>(kStart)};
  ief::TrackerOptions options_;
  std::unique_ptr<ief::JobTracker> tracker_;
};

const TaskSpec kOk{"Successful", ""};
const TaskSpec kRunning{"Running", ""};
const TaskSpec kPullFailed{"Failed", "image pull failed"};
const TaskSpec kOffline{"Failed", "node is offline"};

const std::vector<Row>& Rows() {
  static const std::vector<Row> rows = {
      // ---- The README's counting rules ----
      {"a start-up that lists an old finished job counts nothing",
       {List({View("Failed", -3600)}), List({View("Failed", -3600)})}},
      {"a job followed from Running to Failed counts one finish with its duration",
       {List({View("Running", -60)}), List({View("Failed", 300)}, {"finished Failed 900"}),
        List({View("Failed", 300)})}},
      {"a job first seen finished after the start counts",
       {List({View("Successful", 5)}, {"finished Successful 605"})}},
      {"Waiting to Running observes the wait",
       {List({View("Waiting", -10)}), List({View("Running", 50)}, {"started 650"})}},
      {"a job first seen running after the start observes its wait",
       {List({View("Running", 20, 10)}, {"started 10"})}},
      {"a retry seen running, then a success: one retry, one finish",
       {List({View("Failed", -3600)}), List({View("Running", 100)}, {"retried"}),
        List({View("Successful", 200)}, {"finished Successful 800"})}},
      {"a retry and a new finish between two looks show only as a new time: one retry, one finish",
       {List({View("Failed", 10)}, {"finished Failed 610"}), List({View("Failed", 900)}, {"retried", "finished Failed 1500"})}},
      {"re-reads of an unchanged job, by list and by details, count nothing",
       {List({View("Running", -60)}), Details(View("Running", -60)), List({View("Running", -60)}),
        Details(View("Running", -60))}},
      {"a status change within the same second counts when it moves forward",
       {List({View("Running", 100)}, {"started 700"}), List({View("Failed", 100)}, {"finished Failed 700"})}},
      {"without status_last_updated_at, only moves forward count: a retry cannot be told from a lagging answer",
       {List({Untimed(View("Running", 0))}), List({Untimed(View("Failed", 0))}, {"finished Failed -"}),
        List({Untimed(View("Running", 0))}, {"stale list"}), List({View("Running", 100)}, {"stale list"})}},
      {"a finished job's time wavering forward by seconds is no retry; a minute later it is",
       {List({View("Failed", 100)}, {"finished Failed 700"}), List({View("Failed", 101)}), List({View("Failed", 159)}),
        List({View("Failed", 170)}, {"retried", "finished Failed 770"}),
        List({View("Successful", 171)}, {"retried", "finished Successful 771"})}},

      {"a retry seen at work within a minute of the finish counts when the retried job ends (issue 21)",
       {List({View("Failed", 100)}, {"finished Failed 700"}), List({View("Running", 130)}),
        List({View("Failed", 400)}, {"retried", "finished Failed 1000"})}},

      // ---- The adversarial rounds ----
      {"a finish while the details answer 500, then three reloads: one finish",
       {List({View("Running", -60)}), DetailsFail(), List({View("Failed", 60)}, {"finished Failed 660"}),
        DetailsFail(), Reload(), List({View("Failed", 60)}), Reload(), List({View("Failed", 60)}), Reload(),
        List({View("Failed", 60)}), Details(View("Failed", 60))}},
      {"details lagging the list: the older answer is stale, not a retry",
       {List({View("Running", -60)}), List({View("Failed", 120)}, {"finished Failed 720"}),
        Details(View("Running", -60), {"stale details"}), Details(View("Failed", 120)), List({View("Failed", 120)})}},
      {"a finished job's status_last_updated_at moving backwards nine times counts nothing",
       {List({View("Failed", 1000)}, {"finished Failed 1600"}), List({View("Failed", 999)}, {"stale list"}),
        List({View("Failed", 998)}, {"stale list"}), List({View("Failed", 997)}, {"stale list"}),
        List({View("Failed", 996)}, {"stale list"}), List({View("Failed", 995)}, {"stale list"}),
        List({View("Failed", 994)}, {"stale list"}), List({View("Failed", 993)}, {"stale list"}),
        List({View("Failed", 992)}, {"stale list"}), List({View("Failed", 991)}, {"stale list"})}},
      {"a finish whose time moved back past the running phase, then a lagging copy at work: no retry (issue 21)",
       {List({View("Running", 90)}, {"started 690"}), List({View("Failed", 91)}, {"finished Failed 691"}),
        List({View("Running", 97)}), List({View("Failed", 100)}), List({View("Running", 97)}),
        List({View("Failed", 100)})}},
      {"a finish the API dates a little before the job was seen at work counts, with its tasks (issue 21)",
       {List({View("Running", 100)}, {"started 700"}), Details(View("Running", 100, -600, {kRunning, kRunning})),
        List({View("Failed", 95)}, {"finished Failed 695"}),
        Details(View("Failed", 95, -600, {kOk, kPullFailed}),
                {"tasks Failed image_pull 1", "tasks Successful none 1", "node node-1"}),
        List({View("Running", 100)}), List({View("Failed", 93)}, {"stale list"})}},
      {"a finish dated more than a minute before the job was seen at work is a lagging answer",
       {List({View("Running", 200)}, {"started 800"}), List({View("Failed", 100)}, {"stale list"})}},
      {"first seen through a lagging copy: what the API dates before history started is not news (issue 21)",
       {List({View("Running", -30)}), List({View("Failed", -10)}), List({View("Running", -20)}, {"stale list"}),
        List({View("Running", 200)}, {"retried"}), List({View("Failed", 300)}, {"finished Failed 900"})}},
      {"the point a job's history counts from survives a restart (issue 21)",
       {List({View("Running", -30)}), Restart(), Wait(5min), List({View("Failed", -10)}),
        List({View("Running", 400)}, {"retried"})}},
      {"a job listed twice in one walk with two statuses is one job: the newest view wins, the conflict counted",
       {List({View("Running", -60)}),
        List({View("Running", -60), View("Failed", 100)}, {"duplicate", "finished Failed 700"}),
        List({View("Failed", 100), View("Running", -60)}, {"duplicate"}),
        List({View("Running", -60), View("Failed", 100)}, {"duplicate"})}},
      {"a job deleted and created again under the same id is a new job, not a retry",
       {List({View("Failed", 100, -300)}, {"finished Failed 400"}), List({}),
        List({View("Running", 200, 150)}, {"started 50"}), List({View("Successful", 400, 150)}, {"finished Successful 250"})}},
      {"a stale view of the job's earlier incarnation counts nothing",
       {List({View("Running", 200, 150)}, {"started 50"}), Details(View("Failed", 100, -300), {"stale details"})}},
      {"a status_last_updated_at in the year 2286: the finish counts, its duration is rejected",
       {List({View("Running", -60)}),
        List({View("Failed", 9'999'999'999LL - kStart)}, {"implausible duration", "finished Failed -"})}},
      {"a finish before its creation: the duration is rejected",
       {List({View("Running", -60, 500)}), List({View("Failed", 100, 500)}, {"implausible duration", "finished Failed -"})}},
      {"the same time with a status that cannot follow is a contradiction, not a transition",
       {List({View("Successful", 100)}, {"finished Successful 700"}), Details(View("Failed", 100), {"stale details"}),
        Details(View("Running", 100), {"stale details"})}},
      {"a job a walk skipped is not counted again when it is back within ten minutes",
       {List({View("Running", -60)}), List({View("Failed", 60)}, {"finished Failed 660"}), List({}),
        List({View("Failed", 60)}), List({}), Wait(9min), List({View("Failed", 60)})}},

      // ---- Tasks ----
      {"a job's first details are a baseline for its tasks; later ones count what finished since",
       {List({View("Running", -60)}), Details(View("Running", -60, -600, {kOk, kRunning})),
        Details(View("Running", -60, -600, {kOk, kPullFailed}), {"tasks Failed image_pull 1", "node node-1"}),
        Details(View("Running", -60, -600, {kOk, kPullFailed}))}},
      {"lagging details with fewer finished tasks count nothing and do not lower the baseline",
       {List({View("Running", -60)}), Details(View("Running", -60, -600, {kRunning, kRunning, kRunning})),
        Details(View("Running", -60, -600, {kOk, kOk, kRunning}), {"tasks Successful none 2"}),
        Details(View("Running", -60, -600, {kOk, kRunning, kRunning})),
        Details(View("Running", -60, -600, {kOk, kOk, kOk}), {"tasks Successful none 1"})}},
      {"details older than the task baseline count no task",
       {List({View("Running", 100)}, {"started 700"}), Details(View("Running", 100, -600, {kOk, kRunning})),
        Details(View("Failed", 200, -600, {kOk, kOk}), {"finished Failed 800", "tasks Successful none 1"}),
        Details(View("Running", 100, -600, {kRunning, kRunning}), {"stale details"})}},
      {"a job created after the start counts every task its first details show",
       {List({View("Running", 20, 10)}, {"started 10"}),
        Details(View("Running", 20, 10, {kOk, kOffline}),
                {"tasks Failed node_offline 1", "tasks Successful none 1", "node node-1"})}},
      {"after a retry, tasks that fail again are counted again",
       {List({View("Running", -60)}), Details(View("Running", -60, -600, {kRunning, kRunning})),
        Details(View("Failed", 100, -600, {kOk, kPullFailed}),
                {"finished Failed 700", "tasks Failed image_pull 1", "tasks Successful none 1", "node node-1"}),
        List({View("Running", 200)}, {"retried"}), Details(View("Running", 200, -600, {kOk, kRunning})),
        Details(View("Failed", 300, -600, {kOk, kPullFailed}), {"finished Failed 900", "tasks Failed image_pull 1",
                                                                "node node-1"})}},

      {"retried and failed again between two looks: the tasks that failed again count again",
       {List({View("Running", -60)}), Details(View("Running", -60, -600, {kRunning, kRunning})),
        Details(View("Failed", 100, -600, {kPullFailed, kPullFailed}),
                {"finished Failed 700", "tasks Failed image_pull 2", "node node-0", "node node-1"}),
        List({View("Failed", 1000)}, {"retried", "finished Failed 1600"}),
        Details(View("Failed", 1000, -600, {kPullFailed, kPullFailed}),
                {"tasks Failed image_pull 2", "node node-0", "node node-1"})}},
      {"after a retry seen running, tasks still showing their old failure are not counted again",
       {List({View("Failed", 100)}, {"finished Failed 700"}), Details(View("Failed", 100, -600, {kOk, kPullFailed})),
        List({View("Running", 200)}, {"retried"}), Details(View("Running", 200, -600, {kOk, kPullFailed})),
        Details(View("Failed", 300, -600, {kOk, kPullFailed}), {"finished Failed 900"})}},
      {"tasks of a deleted incarnation, served by lagging details, are not the new job's",
       {List({View("Running", 200, 150)}, {"started 50"}),
        Details(View("Failed", 100, -300, {kPullFailed}), {"stale details"})}},
      {"a list without times and lagging details with times count one finish",
       {List({Untimed(View("Running", 0))}), Details(View("Running", -60)), List({Untimed(View("Failed", 0))},
        {"finished Failed -"}), Details(View("Running", -60), {"stale details"}), Details(View("Failed", 100))}},
      {"a finish in the exporter's start second counts",
       {List({View("Failed", 0)}, {"finished Failed 600"})}},

      // ---- Reloads and restarts ----
      {"a reload carries everything counted: nothing again, news still counted",
       {List({View("Running", -60)}), Details(View("Running", -60, -600, {kRunning})),
        List({View("Failed", 60)}, {"finished Failed 660"}), Reload(), List({View("Failed", 60)}),
        Details(View("Failed", 60, -600, {kPullFailed}), {"tasks Failed image_pull 1", "node node-0"}), Reload(),
        Details(View("Failed", 60, -600, {kPullFailed}))}},
      {"a restart resumes: what finished meanwhile counts once, what was counted does not",
       {List({View("Running", -60, -600, {}, "j")}), Details(View("Running", -60, -600, {kRunning, kRunning})),
        Restart(), Wait(5min), List({View("Failed", 400)}, {"finished Failed 1000"}),
        Details(View("Failed", 400, -600, {kOk, kPullFailed}),
                {"tasks Failed image_pull 1", "tasks Successful none 1", "node node-1"}),
        Restart(), List({View("Failed", 400)}), Details(View("Failed", 400, -600, {kOk, kPullFailed}))}},
      {"a job created while the exporter was down counts its finish and all its tasks after the restart",
       {List({}), Restart(), Wait(10min), List({View("Failed", 500, 300)}, {"finished Failed 200"}),
        Details(View("Failed", 500, 300, {kOk, kOffline}),
                {"tasks Failed node_offline 1", "tasks Successful none 1", "node node-1"})}},
      {"a job that appeared while watched counts all its tasks, even when its first details come after a restart",
       {List({}), List({View("Running", 20)}, {"started 620"}), Restart(), List({View("Running", 20)}),
        Details(View("Running", 20, -600, {kOk, kOffline}),
                {"tasks Failed node_offline 1", "tasks Successful none 1", "node node-1"})}},
      {"after a restart or a reload, answers whose time moved backwards count no task again (issue 21)",
       {List({View("Running", -60)}), Details(View("Running", -60, -600, {kRunning, kRunning})),
        List({View("Failed", 100)}, {"finished Failed 700"}),
        Details(View("Failed", 100, -600, {kOk, kOffline}),
                {"tasks Failed node_offline 1", "tasks Successful none 1", "node node-1"}),
        Restart(), List({View("Failed", 92)}, {"stale list"}), Details(View("Failed", 92, -600, {kOk, kOffline}),
        {"stale details"}), Reload(), Details(View("Failed", 91, -600, {kOk, kOffline}), {"stale details"}),
        Restart(), List({View("Failed", 90)}, {"stale list"}),
        Details(View("Running", -61, -600, {kOk, kRunning}), {"stale details"}),
        Details(View("Failed", 100, -600, {kOk, kOffline}))}},
      {"a job first listed after a restart counts all its tasks, even when its first details come after the next one",
       {List({}), Restart(), Wait(5min), List({View("Running", 340, 330)}, {"started 10"}), DetailsFail(),
        Restart(), Wait(5min), List({View("Failed", 600, 330)}, {"finished Failed 270"}),
        Details(View("Failed", 600, 330, {kOk, kOffline}),
                {"tasks Failed node_offline 1", "tasks Successful none 1", "node node-1"})}},
      {"a job that was there before history started keeps its first details as a baseline after a restart",
       {List({View("Running", -60)}), DetailsFail(), Restart(), Wait(5min),
        List({View("Failed", 400)}, {"finished Failed 1000"}), Details(View("Failed", 400, -600, {kOk, kOffline}))}},
      {"the end of a job seen at work after its history started counts, even when the API dates it before (issue 21)",
       {List({View("Running", 100, 50, {}, "other")}, {"started 50"}), Restart(),
        List({View("Running", 100, 50, {}, "other"), View("Running", 102, 101)}, {"started 1"}),
        List({View("Running", 100, 50, {}, "other"), View("Failed", 98, 101)},
             {"implausible duration", "finished Failed -"})}},
      {"after a restart, a job unseen before that finished before the stored point counts nothing",
       {List({View("Running", 100, 50, {}, "other")}, {"started 50"}), Restart(), List({View("Failed", 40, -300)})}},
  };
  return rows;
}

}  // namespace

TEST_CASE("the counting rules, step by step") {
  for (const Row& row : Rows()) {
    DYNAMIC_SECTION(row.name) {
      Harness harness;
      for (size_t i = 0; i < row.steps.size(); ++i) {
        INFO("step " << i + 1);
        CHECK(harness.Run(row.steps[i]) == row.steps[i].expected);
      }
    }
  }
}

TEST_CASE("a reload keeps the round's figures: the overrun counter never goes down") {
  Harness harness;
  harness.tracker().FinishRound(0.5, true);
  harness.tracker().FinishRound(0.7, true);
  harness.Run(Reload());
  auto snapshot = harness.tracker().MakeSnapshot();
  CHECK(snapshot->rounds_overrun == 2);
  CHECK(snapshot->has_completed_round);
  CHECK(snapshot->last_round_seconds == 0.7);
}

TEST_CASE("the history says since when it counts, and a restart keeps that start") {
  Harness harness;
  CHECK(harness.tracker().MakeSnapshot()->projects[0].history_since == ief::FromApiSeconds(kStart));
  harness.Run(List({View("Running", 100)}));
  harness.Run(Restart());
  CHECK(harness.tracker().MakeSnapshot()->projects[0].history_since == ief::FromApiSeconds(kStart));
  const ief::HistoryState history = harness.tracker().History();
  CHECK(history.projects.at("p").watermark == kStart + 100);
}

TEST_CASE("a time far ahead of the local clock does not move the watermark a restart resumes from") {
  Harness harness;
  harness.Run(List({View("Running", 100), View("Failed", 20 * 3600, -600, {}, "ahead")}));
  CHECK(harness.tracker().History().projects.at("p").watermark == kStart + 100);
}

TEST_CASE("node failures counted again after a pause of the node counter are a baseline, not news") {
  ief::TaskTally two_failed;
  two_failed.by_status_and_class[{"Failed", "other"}] = 2;
  two_failed.failed_targets = {"n1", "n2"};
  ief::TaskTally three_failed = two_failed;
  three_failed.by_status_and_class[{"Failed", "other"}] = 3;
  three_failed.failed_targets = {"n1", "n2", "n3"};
  ief::JobHistory history;
  std::vector<ief::Transition> out;
  const ief::CountContext context{.project_id = "p", .job_type = "node_upgrade"};
  ief::CountTasks(history, {two_failed, 100, "Running"}, {.count_first = true, .count_nodes = true}, context, out);
  CHECK(out.size() == 3);  // two tasks, two nodes
  out.clear();
  ief::CountTasks(history, {two_failed, 100, "Running"}, {}, context, out);
  CHECK(out.empty());
  ief::CountTasks(history, {three_failed, 100, "Running"}, {.count_nodes = true}, context, out);
  REQUIRE(out.size() == 1);  // the third failed task; its node is only the new baseline's
  CHECK(ief::Describe(out[0]) == "tasks Failed other 1");
}

TEST_CASE("a transition names its job, so that a debug log can say why a counter moved") {
  std::vector<ief::Transition> out;
  ief::JobHistory history;
  const ief::CountContext context{.project_id = "p", .job_id = "j1", .job_type = "node_upgrade"};
  ief::CountStatus(history, {.status = "Failed", .updated_at = 100, .created_at = 40}, context, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].project_id == "p");
  CHECK(out[0].job_id == "j1");
  CHECK(ief::Describe(out[0]) == "finished Failed 60");
}

TEST_CASE("after a resharding, the histories of jobs another shard owns now stay in the state file (72 h)") {
  ief::HistoryState stored{.shard = 0, .total_shards = 1};
  ief::ProjectHistory& project = stored.projects["p"];
  project.since = project.first_views_after = project.watermark = kStart - 100;
  for (int i = 0; i < 20; ++i) {
    project.jobs["job-" + std::to_string(i)].counted =
        ief::StatusView{.status = "Failed", .updated_at = kStart - 200, .source = ief::ViewSource::kStored};
  }
  ief::testing::ManualClock clock{static_cast<double>(kStart)};
  auto context = std::make_shared<ief::ProjectContext>();
  context->project_id = "p";
  ief::TrackedProject tracked{context, {}, {}};
  tracked.discovery.enabled = true;
  ief::TrackerOptions options{.shard = 1, .total_shards = 2};
  options.started_at = clock.Wall();
  ief::JobTracker tracker(options, {tracked}, nullptr, stored, ief::Moment::Now(clock));
  // This replica owns about half of them now; a replica that owns the others and starts later still finds them
  // here, even after this one saved its file again.
  CHECK(tracker.History().projects.at("p").jobs == project.jobs);
}

using Due = std::map<std::string, ief::FetchReason>;

TEST_CASE("a finished job whose details lag behind its finish is read again at urgent priority, a bounded number of "
          "times, until its last tasks count") {
  Harness h;
  const ief::BatchJob at_work = View("Running", -60, -600, {kOk, kRunning});
  h.Run(List({View("Running", -60)}));
  h.Run(Details(at_work));
  CHECK(h.Run(List({View("Failed", 100)})) == std::vector<std::string>{"finished Failed 700"});
  CHECK(h.Run(Details(at_work)) == std::vector<std::string>{"stale details"});  // a lagging replica, twice
  CHECK(h.Run(Details(at_work)) == std::vector<std::string>{"stale details"});
  for (int reread = 0; reread < ief::kMaxFinalTasksRereads; ++reread) {
    // After 1, 2, 4, 8 poll intervals (30 s: each step is 30 s after the one before).
    for (int round = 1; round < (1 << reread); ++round) {
      h.Run(List({View("Failed", 100)}));
      CHECK(h.DueFetches().empty());
    }
    h.Run(List({View("Failed", 100)}));
    CHECK(h.DueFetches() == Due{{"j", ief::FetchReason::kChanged}});  // urgent: background work may wait for ever
    h.Run(Details(at_work));
  }
  h.Run(Wait(5min));
  h.Run(List({View("Failed", 100)}));
  CHECK(h.DueFetches() == Due{{"j", ief::FetchReason::kRefresh}});  // then on the refresh schedule, in the background
  CHECK(h.Run(Details(View("Failed", 100, -600, {kOk, kOffline}))) ==
        std::vector<std::string>{"tasks Failed node_offline 1", "node node-1"});
  h.Run(List({View("Failed", 100)}));
  CHECK(h.DueFetches().empty());  // nothing owed any more
}

TEST_CASE("lagging details of a job whose finish the API dates before its work are read again until they show it") {
  Harness h;
  const ief::BatchJob at_work = View("Running", 100, -600, {kOk, kRunning});
  CHECK(h.Run(List({View("Running", 100)})) == std::vector<std::string>{"started 700"});
  h.Run(Details(at_work));
  CHECK(h.Run(List({View("Failed", 95)})) == std::vector<std::string>{"finished Failed 695"});
  h.Run(Details(at_work));  // a lagging replica, twice: newer by its time than the finish, but it wavers
  h.Run(Details(at_work));
  h.Run(List({View("Failed", 95)}));
  CHECK(h.DueFetches() == Due{{"j", ief::FetchReason::kChanged}});
  CHECK(h.Run(Details(View("Failed", 95, -600, {kOk, kPullFailed}))) ==
        std::vector<std::string>{"tasks Failed image_pull 1", "node node-1"});
  CHECK(h.tracker().MakeSnapshot()->jobs.at(0)->last_good->status == "Failed");  // the end is shown
  h.Run(Wait(1h));
  h.Run(List({View("Failed", 95)}));
  CHECK(h.DueFetches().empty());  // nothing owed: never read again
}

TEST_CASE("lagging details of a job retried and finished again between two looks are read again until they show "
          "the new finish") {
  Harness h;
  const ief::BatchJob first_run = View("Failed", 100, -600, {kOk, kPullFailed});
  CHECK(h.Run(List({View("Failed", 100)})) == std::vector<std::string>{"finished Failed 700"});
  h.Run(Details(first_run));
  CHECK(h.Run(List({View("Failed", 400)})) == std::vector<std::string>{"retried", "finished Failed 1000"});
  h.Run(Details(first_run));  // a lagging replica shows the first run's end, twice
  h.Run(Details(first_run));
  h.Run(List({View("Failed", 400)}));
  CHECK(h.DueFetches() == Due{{"j", ief::FetchReason::kChanged}});
  CHECK(h.Run(Details(View("Failed", 400, -600, {kOk, kPullFailed}))) ==
        std::vector<std::string>{"tasks Failed image_pull 1", "node node-1"});  // failed again
  h.Run(List({View("Failed", 400)}));
  CHECK(h.DueFetches().empty());
}

TEST_CASE("final details whose time moved back a little owe nothing: no urgent re-read") {
  Harness h;
  h.Run(List({View("Running", -60)}));
  h.Run(Details(View("Running", -60, -600, {kOk, kRunning})));
  h.Run(List({View("Failed", 100)}));
  CHECK(h.Run(Details(View("Failed", 99, -600, {kOk, kOk}))) ==
        std::vector<std::string>{"stale details", "tasks Successful none 1"});
  h.Run(Details(View("Failed", 99, -600, {kOk, kOk})));
  h.Run(List({View("Failed", 100)}));
  CHECK(h.DueFetches() == Due{{"j", ief::FetchReason::kRefresh}});  // not urgent
}

// A list item with its task counts.
ief::BatchJob Counted(ief::BatchJob job, int64_t succeeded, int64_t failed) {
  job.task_success_count = succeeded;
  job.task_failed_count = failed;
  return job;
}

TEST_CASE("after a restart, a job that finished while the exporter was down is read at urgent priority when its "
          "tasks are owed") {
  Harness h;
  h.Run(List({View("Running", -60), View("Failed", -3600, -7200, {}, "old"), View("Running", 10, 5, {}, "wavers"),
              View("Running", 10, 5, {}, "done")}));
  h.Run(Details(View("Running", -60, -600, {kOk, kRunning})));
  CHECK(h.Run(Details(View("Running", 10, 5, {kOk, kRunning}, "wavers"))) ==
        std::vector<std::string>{"tasks Successful none 1"});
  CHECK(h.Run(Details(View("Running", 10, 5, {kOk, kOk}, "done"))) ==
        std::vector<std::string>{"tasks Successful none 2"});
  h.Run(Restart());
  h.Run(Wait(5min));
  // "late" was created and finished while the exporter was down: it is first seen on the opening walk. The API
  // dates the finishes of "wavers" and "done" at the time of their running phase (its clock wavered); the list's task
  // counts tell that one of wavers' tasks is still to be counted, and none of done's.
  CHECK(h.Run(List({View("Failed", 400), View("Failed", -3600, -7200, {}, "old"), View("Failed", 380, 300, {}, "late"),
                    Counted(View("Failed", 10, 5, {}, "wavers"), 1, 1), Counted(View("Failed", 10, 5, {}, "done"), 2, 0)})) ==
        std::vector<std::string>{"finished Failed 1000", "finished Failed 80", "finished Failed 5", "finished Failed 5"});
  // The last tasks of j and wavers, and all of late's, are owed: urgent; nothing of old's or done's: background fill.
  CHECK(h.DueFetches() == Due{{"j", ief::FetchReason::kChanged},
                              {"late", ief::FetchReason::kChanged},
                              {"old", ief::FetchReason::kFillFinished},
                              {"wavers", ief::FetchReason::kChanged},
                              {"done", ief::FetchReason::kFillFinished}});
}
