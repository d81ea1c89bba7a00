// The exporter's HTTP surface: landing page, metrics, health and readiness.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "metrics/exposition.h"
#include "util/result.h"
#include "web/http_server.h"

namespace ief {

struct ExporterWebOptions {
  std::string telemetry_path = "/metrics";
};

// `ready` answers /-/ready (true once the first poll round has finished); `reload` serves POST /-/reload.
std::vector<Route> ExporterRoutes(const ExporterWebOptions& options, const Exposition& exposition,
                                  std::function<bool()> ready, std::function<Status()> reload);

}  // namespace ief
