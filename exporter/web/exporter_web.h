// The exporter's HTTP surface: landing page, metrics, health and readiness.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "metrics/exposition.h"
#include "util/result.h"
#include "web/http_server.h"
#include "web/landing_page.h"

namespace ief {

struct ExporterWebOptions {
  std::string telemetry_path = "/metrics";
  // --web.enable-lifecycle: POST /-/reload reloads the config. Off, it answers 403 (as Prometheus does), so that
  // nobody on the network can reset the exporter's state (rate limits, back-offs) at will.
  bool enable_lifecycle = false;
  // What the landing page shows, gathered when it is asked for; unset: links only.
  std::function<LandingPage()> landing_page;
};

// `ready` answers /-/ready (true once the first poll round has finished); `reload` serves POST /-/reload (run on a
// thread with a large stack: reading a config recurses as deep as it nests).
std::vector<Route> ExporterRoutes(const ExporterWebOptions& options, const Exposition& exposition,
                                  std::function<bool()> ready, std::function<Status()> reload);

}  // namespace ief
