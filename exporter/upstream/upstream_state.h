// Everything on the upstream side that must survive a config reload, owned by the app rather than by a poller:
// - authenticators, with their IAM tokens and wrong-password back-off, for every project whose credentials did
//   not change (repeated reloads must never retry a rejected password: five lock the IAM user);
// - one rate limiter per endpoint, with the rate it adapted to the gateway;
// - the transports, with their kept-alive connections, and the memory budget for answers in flight.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "upstream/http/response_budget.h"
#include "upstream/http/transport_pool.h"
#include "upstream/ief_client.h"
#include "util/mutex.h"

namespace ief {

struct UpstreamOptions {
  size_t max_body_bytes = 32 * 1024 * 1024;          // one answer, decoded
  size_t response_budget_bytes = 128 * 1024 * 1024;  // all answers in flight together
  Duration connect_timeout = std::chrono::seconds(5);
};

class UpstreamState {
 public:
  UpstreamState(ApiObserver* observer, UpstreamOptions options = {}, const Clock& clock = SystemClock());
  UpstreamState(const UpstreamState&) = delete;
  UpstreamState& operator=(const UpstreamState&) = delete;

  // The projects of `config`, reusing the authenticators and rate limiters that still match and forgetting the
  // others. Called at start and at every reload.
  std::vector<std::shared_ptr<const ProjectContext>> ProjectsFor(const Config& config);

  TransportPool& transports() { return transports_; }
  const ResponseBudget& response_budget() const { return budget_; }

  // Each endpoint's rate limiter state, for metrics.
  std::vector<std::pair<std::string, RateLimiterStats>> RateLimits();

 private:
  std::unique_ptr<HttpTransport> MakeTransport();

  ApiObserver* observer_;
  const UpstreamOptions options_;
  const Clock& clock_;
  ResponseBudget budget_;
  TransportPool transports_;
  Mutex mutex_;
  // By AuthenticatorKey.
  std::map<std::string, std::shared_ptr<RequestAuthenticator>> authenticators_ GUARDED_BY(mutex_);
  // By endpoint URL.
  std::map<std::string, std::shared_ptr<EndpointRateLimiter>> rate_limiters_ GUARDED_BY(mutex_);
  // Endpoints no longer configured.
  std::map<std::string, std::shared_ptr<EndpointRateLimiter>> retired_rate_limiters_ GUARDED_BY(mutex_);
};

}  // namespace ief
