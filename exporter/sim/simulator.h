// An IEF batch-job API simulator: ShowBatchJob and ListBatchJob for generated jobs that move through the
// documented statuses over time, plus a control API (/sim/...) for tests: fixed job documents, faults, token
// rotation and request counts. Used by `ief_exporter --demo`, the standalone `ief_simulator`, and the tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/duration.h"
#include "util/mutex.h"
#include "web/http_server.h"

namespace ief {

// An eventually consistent, confused API, for tests of exactly-once counting. Applies to generated jobs and, where
// it says so, to fixed ones.
struct SimConsistency {
  // ShowBatchJob answers what was true this long ago (a lagging read replica). Fixed jobs: the version put before
  // the current one, while the current one is younger than this.
  Duration details_lag{0};
  // Every list walk shows each job twice: as it is, and as it was max(details_lag, 30 s) ago (fixed jobs: as the
  // version put before), next to each other.
  bool duplicate_list_items = false;
  // A finished generated job's status_last_updated_at is 1 s earlier in each answer about it than in the one
  // before, down to 9 s earlier (a clock that moves backwards).
  bool timestamps_backwards = false;
};

struct SimulatorOptions {
  std::string project_id = "demo0000000000000000000000000000";
  std::string token = "demo-token";
  int generated_jobs = 6;         // jobs that exist from the start
  int tasks_per_job = 4;
  std::chrono::duration<double> phase{20};  // base length of the Waiting and Running phases
  Duration new_job_every{0};      // a new job appears this often; 0: never
  long max_page_size = 0;         // ListBatchJob returns at most this many items a page, whatever is asked; 0: no cap
  // The API gateway's throttling: IEF requests beyond this many per second (a token bucket holding one second's
  // worth) are answered 429 APIGW.0308 with a Retry-After, as Huawei's gateway does; 0: no throttling.
  double throttle_per_second = 0;
  // IAM (POST /v3/auth/tokens): the password login it accepts and the lifetime of the tokens it issues.
  std::string iam_domain = "demo-domain";
  std::string iam_user = "demo-user";
  std::string iam_password = "demo-password";
  Duration iam_token_lifetime = std::chrono::hours(24);
  // AK/SK: requests signed with this pair are accepted; empty: AK/SK disabled.
  std::string access_key;
  std::string secret_key;
  // Also settable at run time: PUT /sim/consistency.
  SimConsistency consistency;
};

// A fault injected into ShowBatchJob answers (for one job, or "*" for every API request).
struct SimFault {
  // kEndless: a 200 answer whose body never ends (chunks of JSON whitespace as fast as the client reads, up to
  // 4 GiB); kDrip: the normal answer, one byte every 100 ms.
  enum class Kind { kHttp500, kHttp429, kGarbage, kTruncated, kDelay, kEndless, kDrip };
  Kind kind = Kind::kHttp500;
  int delay_ms = 0;        // kDelay: how long to stall before answering normally
  int retry_after_s = 2;   // kHttp429: the Retry-After header
};

// How ListBatchJob misbehaves (PUT /sim/list), for tests of a list that cannot be trusted.
struct SimListQuirks {
  bool ignore_offset = false;  // every page is the first one
  bool unsorted = false;       // oldest first, whatever `sort` asks for
  bool state_count = false;    // job_count states `stated_count` (or nothing) instead of the real number
  std::optional<int64_t> stated_count;  // nullopt: job_count is left out
};

// How IAM states its tokens' times (PUT /sim/iam), for tests of a skewed or careless IAM.
struct SimIamTimes {
  bool skewed = false;
  std::chrono::seconds expires_in{0};  // skewed: expires_at is this far from now (negative: already past), no issued_at
};

class Simulator {
 public:
  explicit Simulator(SimulatorOptions options, const Clock& clock = SystemClock());

  // The IEF API under /v2/ and the control API under /sim/.
  std::vector<Route> Routes();

  // Ids of the jobs that exist now, generated and fixed, in creation order.
  std::vector<std::string> JobIds() const;
  const SimulatorOptions& options() const { return options_; }

  // Control API, also callable directly. The document is served verbatim by ShowBatchJob for `job_id`; the list
  // shows it without its details, under whatever job_id it holds.
  void PutFixedJob(const std::string& job_id, std::string document);
  void DeleteJob(const std::string& job_id);
  void SetFault(const std::string& job_id, SimFault fault);
  void ClearFault(const std::string& job_id);
  void SetToken(std::string token);
  void SetConsistency(SimConsistency consistency);
  void SetListQuirks(const SimListQuirks& quirks);
  void SetIamTimes(const SimIamTimes& times);
  // Requests answered for a job id; "list" and "show" for all ListBatchJob and ShowBatchJob requests that passed
  // the throttle, "throttled" for those answered 429 by it.
  long RequestCount(const std::string& key) const;

  ServerReply Handle(const ServerRequest& request);

 private:
  struct GeneratedJob;
  struct FixedJob {
    std::string document;
    std::string list_item;  // the document without its details, for ListBatchJob; empty when it is not an object
    int64_t created_at = 0;
    std::string job_type;
    WallTime put_at;
    std::shared_ptr<const FixedJob> previous;  // the version put before this one (SimConsistency)
  };

  ServerReply HandleApi(const ServerRequest& request);
  ServerReply IssueIamToken(const ServerRequest& request);
  // Null when the request is authenticated; else the error answer.
  std::optional<ServerReply> CheckCredentials(const ServerRequest& request, WallTime now) REQUIRES(mutex_);
  std::optional<ServerReply> VerifySignature(const ServerRequest& request, const std::string& authorization,
                                             WallTime now) REQUIRES(mutex_);
  ServerReply HandleControl(const ServerRequest& request);
  ServerReply ShowJob(const std::string& job_id);
  ServerReply ListJobs(const ServerRequest& request);
  // The job_count member of a list answer, with its comma ("" when the quirks leave it out).
  std::string JobCountMember(size_t real_count) const REQUIRES(mutex_);
  ServerReply ApplyFault(const SimFault& fault, ServerReply normal);
  static ServerReply EndlessAnswer();
  static ServerReply Dripping(ServerReply normal);
  // The gateway's verdict on one more request now: nullopt to let it through, else the 429 answer.
  std::optional<ServerReply> Throttle(WallTime now) REQUIRES(mutex_);
  ServerReply PutFixedJobs(const std::string& body);
  // The job as the API shows it at `now`: in the list (kSummary), or with its tasks and targets (kDetails).
  enum class View : uint8_t { kSummary, kDetails };
  std::string RenderGeneratedJob(const GeneratedJob& job, WallTime now, View view, int64_t updated_at_shift = 0) const;
  // How far back the next answer about a generated job moves its status_last_updated_at (timestamps_backwards).
  int64_t BackwardsShift(const GeneratedJob& job, WallTime now) REQUIRES(mutex_);
  // The version of a fixed job an answer shows now (details_lag).
  const FixedJob& FixedVersionForDetails(const FixedJob& job, WallTime now) const REQUIRES(mutex_);
  std::vector<GeneratedJob> GeneratedJobsAt(WallTime now) const REQUIRES(mutex_);
  int GeneratedJobCountAt(WallTime now) const;
  GeneratedJob MakeGeneratedJob(int index) const;
  std::optional<GeneratedJob> GeneratedJobById(const std::string& job_id, WallTime now) const REQUIRES(mutex_);
  std::string NextRequestId() REQUIRES(mutex_);

  WallTime Now() const { return clock_.Wall(); }

  const SimulatorOptions options_;
  const Clock& clock_;
  const WallTime start_time_;

  mutable Mutex mutex_;
  std::string token_ GUARDED_BY(mutex_);
  std::map<std::string, FixedJob> fixed_jobs_ GUARDED_BY(mutex_);  // by the id ShowBatchJob answers for
  std::vector<std::string> fixed_order_ GUARDED_BY(mutex_);
  double throttle_tokens_ GUARDED_BY(mutex_) = 0;
  WallTime throttle_refilled_at_ GUARDED_BY(mutex_);
  std::set<std::string> deleted_ GUARDED_BY(mutex_);
  std::map<std::string, SimFault> faults_ GUARDED_BY(mutex_);
  // Also "iam_issued", "iam_rejected", "expired_token", "aksk_*".
  std::map<std::string, long> request_counts_ GUARDED_BY(mutex_);
  std::map<std::string, WallTime> iam_tokens_ GUARDED_BY(mutex_);  // issued token -> its expiry
  SimConsistency consistency_ GUARDED_BY(mutex_);
  // Generated job id -> seconds its next answer moves back.
  std::map<std::string, int64_t> backwards_steps_ GUARDED_BY(mutex_);
  SimListQuirks list_quirks_ GUARDED_BY(mutex_);
  SimIamTimes iam_times_ GUARDED_BY(mutex_);
  long next_request_id_ GUARDED_BY(mutex_) = 1;
};

}  // namespace ief
