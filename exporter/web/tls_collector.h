// The served TLS certificate as metrics, read at scrape time (only registered when TLS is on):
//   ief_exporter_tls_certificate_reloads_total                changed certificate/key files loaded
//   ief_exporter_tls_certificate_reload_errors_total          changed files that could not be loaded (old pair kept)
//   ief_exporter_tls_certificate_expiry_timestamp_seconds     when the served certificate expires
#pragma once

#include <memory>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "web/tls_server.h"

namespace ief {

class TlsCollector : public prometheus::Collectable {
 public:
  explicit TlsCollector(std::shared_ptr<const TlsServerContext> tls) : tls_(std::move(tls)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<const TlsServerContext> tls_;
};

}  // namespace ief
