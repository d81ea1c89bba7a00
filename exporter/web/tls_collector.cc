#include "web/tls_collector.h"

namespace ief {
namespace {

prometheus::MetricFamily Family(const char* name, const char* help, prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return prometheus::MetricFamily{name, help, type, {metric}};
}

}  // namespace

std::vector<prometheus::MetricFamily> TlsCollector::Collect() const {
  try {
    TlsStats stats = tls_->Stats();
    return {
        Family("ief_exporter_tls_certificate_reloads_total",
               "Times a changed TLS certificate and key were loaded from disk and served.",
               prometheus::MetricType::Counter, static_cast<double>(stats.reloads)),
        Family("ief_exporter_tls_certificate_reload_errors_total",
               "Times changed TLS certificate or key files could not be loaded; the previous pair stayed in use.",
               prometheus::MetricType::Counter, static_cast<double>(stats.reload_errors)),
        Family("ief_exporter_tls_certificate_expiry_timestamp_seconds",
               "When the TLS certificate served now expires (its notAfter).", prometheus::MetricType::Gauge,
               stats.not_after),
    };
  } catch (const std::exception&) {
    return {};  // nothing may escape Collect()
  }
}

}  // namespace ief
