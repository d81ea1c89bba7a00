#include "upstream/upstream_state.h"

#include "upstream/http/curl_transport.h"

namespace ief {

UpstreamState::UpstreamState(ApiObserver* observer, UpstreamOptions options, const Clock& clock)
    : observer_(observer),
      options_(options),
      clock_(clock),
      budget_(options.response_budget_bytes),
      transports_([this] { return MakeTransport(); }) {}

std::unique_ptr<HttpTransport> UpstreamState::MakeTransport() {
  return std::make_unique<CurlTransport>(CurlTransportOptions{.connect_timeout = options_.connect_timeout,
                                                              .max_body_bytes = options_.max_body_bytes,
                                                              .budget = &budget_});
}

std::vector<std::shared_ptr<const ProjectContext>> UpstreamState::ProjectsFor(const Config& config) {
  MutexLock lock(mutex_);
  AuthDependencies auth_deps{.observer = observer_, .make_transport = [this] { return MakeTransport(); },
                             .clock = &clock_};
  std::map<std::string, std::shared_ptr<RequestAuthenticator>> authenticators;
  std::map<std::string, std::shared_ptr<EndpointRateLimiter>> rate_limiters;
  std::vector<std::shared_ptr<const ProjectContext>> projects;
  for (const ProjectConfig& project : config.projects) {
    auto context = std::make_shared<ProjectContext>();
    context->project_id = project.project_id;
    context->endpoint = project.endpoint;
    context->instance_id = project.instance_id;

    const std::string key = AuthenticatorKey(project);
    auto kept = authenticators_.find(key);
    context->authenticator = kept != authenticators_.end() ? kept->second : MakeAuthenticator(project, auth_deps);
    authenticators[key] = context->authenticator;

    auto& limiter = rate_limiters[project.endpoint];
    if (!limiter) {
      auto old = rate_limiters_.find(project.endpoint);
      auto retired = retired_rate_limiters_.find(project.endpoint);
      limiter = old != rate_limiters_.end()           ? old->second
                : retired != retired_rate_limiters_.end() ? retired->second
                                                          : std::make_shared<EndpointRateLimiter>(config.global.rate_limit, clock_);
      limiter->SetCeiling(config.global.rate_limit);
    }
    retired_rate_limiters_.erase(project.endpoint);
    context->rate_limiter = limiter;
    projects.push_back(std::move(context));
  }
  authenticators_ = std::move(authenticators);
  // An endpoint that leaves the config keeps its limiter: if it comes back, its counters carry on instead of
  // starting again from zero (a counter never goes down), and its learnt rate too.
  for (auto& [endpoint, limiter] : rate_limiters_) {
    if (!rate_limiters.contains(endpoint)) retired_rate_limiters_[endpoint] = std::move(limiter);
  }
  rate_limiters_ = std::move(rate_limiters);
  return projects;
}

std::vector<std::pair<std::string, RateLimiterStats>> UpstreamState::RateLimits() {
  std::vector<std::pair<std::string, std::shared_ptr<EndpointRateLimiter>>> limiters;
  {
    MutexLock lock(mutex_);
    limiters.assign(rate_limiters_.begin(), rate_limiters_.end());
  }
  std::vector<std::pair<std::string, RateLimiterStats>> stats;
  for (const auto& [endpoint, limiter] : limiters) stats.emplace_back(endpoint, limiter->Stats());
  return stats;
}

}  // namespace ief
