// Shared pieces of the process-level integration tests: HTTP calls, metric look-ups, and starting the real
// ief_simulator / ief_exporter binaries on ephemeral loopback ports.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/certificates.h"
#include "support/fixtures.h"
#include "support/process.h"

namespace ief::testing {

// An answer as a test sees it: status 0 (and the reason in `error`) when no HTTP answer came.
struct TestResponse {
  long status = 0;
  std::string body;
  std::string error;
};
TestResponse Http(const std::string& method, const std::string& url, const std::string& body = "");

// A series' value, or nullopt when it is absent (so "== 0" cannot pass by accident).
std::optional<double> Value(const std::map<std::string, double>& metrics, const std::string& series);

struct RunningProcess {
  std::unique_ptr<ChildProcess> process;
  std::string url;  // http://127.0.0.1:PORT
};

// Starts `argv` (which must listen on 127.0.0.1:0 and log "Listening on") and waits for its port; url is empty
// when it never listened.
RunningProcess StartListening(std::vector<std::string> argv);

// Starts ief_exporter on `config_path` (plus `extra_args`) and waits until /-/ready answers 200; url is empty on
// failure.
RunningProcess StartExporter(const std::string& config_path, const std::vector<std::string>& extra_args = {});

// A port nothing listens on right now (the kernel's pick for a socket bound to port 0), for peers such as
// Prometheus that cannot report the port they bound.
int FreeLoopbackPort();

// A counter of ief_simulator's control API (GET /sim/requests/KEY): a job id, list, iam_issued...
long SimulatorCount(const RunningProcess& simulator, const std::string& key);

// An exporter whose endpoint needs basic auth (user "prometheus", `password`, hashed with `bcrypt_cost`), with a
// config that tracks one job on an unreachable endpoint. The files live as long as the object.
struct ProtectedExporter {
  explicit ProtectedExporter(const std::string& password, int bcrypt_cost = 6);
  TempFile web_config;
  TempFile config;
  RunningProcess exporter;
};

// A config that tracks one job on an endpoint that never answers: the exporter runs, its API calls fail.
inline constexpr const char* kUnreachableProjectConfig =
    "projects:\n  - project_id: p\n    endpoint: http://127.0.0.1:1\n    auth: {token: t}\n    jobs: [a]\n";

// An exporter serving HTTPS with `server`'s certificate: the web config (tls_server_config naming the files, then
// `more_web_config`) and the certificate files live together in one directory and are named relative to it, as
// exporter-toolkit reads them. `addresses` are the ones logged ("127.0.0.1:PORT", "[::1]:PORT"), empty if it did
// not start.
struct TlsExporter {
  TlsExporter(const TestCertificate& server, const std::string& more_web_config,
              const std::vector<std::string>& listen = {"127.0.0.1:0"});
  std::string Url(const std::string& path, size_t address = 0) const { return "https://" + addresses.at(address) + path; }
  int Port(size_t address = 0) const;
  TempDirectory dir;
  TempFile config{kUnreachableProjectConfig, ".yml"};
  std::unique_ptr<ChildProcess> process;
  std::vector<std::string> addresses;
};

// Debian's Prometheus on a free loopback port with `config_path`, its data in `data_dir`; url is empty when it did
// not become ready within 30 s.
struct RunningPrometheus {
  std::unique_ptr<ChildProcess> process;
  std::string url;  // http://127.0.0.1:PORT
};
RunningPrometheus StartPrometheus(const std::string& config_path, const std::string& data_dir);

// The exporter's current metrics.
std::map<std::string, double> Scrape(const RunningProcess& exporter);

}  // namespace ief::testing
