// Server-side TLS for the web server, configured the way exporter-toolkit's tls_server_config reads: versions,
// cipher suites (Go's names, mapped to OpenSSL's), curves, the five client_auth_type policies, a client CA and
// client_allowed_sans. The certificate and key are re-read when their files change, without a restart and without
// dropping a connection: each handshake picks the pair current at that moment, and a broken new pair leaves the
// old one in place (logged, and counted in the stats).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/web_config.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/result.h"

// OpenSSL's types, declared so this header needs none of OpenSSL's.
struct ssl_st;             // SSL
struct ssl_ctx_st;         // SSL_CTX
struct x509_st;            // X509
struct x509_store_ctx_st;  // X509_STORE_CTX

namespace ief {

// What the metrics show about the served certificate (TlsCollector).
struct TlsStats {
  long long reloads = 0;        // changed certificate/key files loaded
  long long reload_errors = 0;  // changed files that could not be loaded (the old pair stayed)
  double not_after = 0;         // Unix seconds when the served certificate expires
};

class TlsServerContext {
 public:
  struct Options {
    // How often the certificate and key files are looked at (a stat of each; they are read only when changed).
    std::chrono::milliseconds reload_check_interval = std::chrono::seconds(5);
    const Clock* clock = &SystemClock();  // what the watcher waits on; outlives the context
  };

  // Loads the certificate and key (errors carry the web config position of the key that names them) and builds
  // the OpenSSL context.
  static Result<std::shared_ptr<TlsServerContext>> Create(const TlsServerConfig& config, Options options);
  static Result<std::shared_ptr<TlsServerContext>> Create(const TlsServerConfig& config) {
    return Create(config, Options{});
  }
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // The SSL_CTX CivetWeb serves with; owned here.
  ::ssl_ctx_st* native() const { return ctx_; }
  TlsStats Stats() const;

  // Loads the certificate and key again if either file changed since the last look. Runs on a thread of its own
  // every reload_check_interval; public for tests.
  void ReloadIfChanged();

  struct KeyPair;  // a loaded certificate (with its chain) and key
  struct FileStamp;

 private:
  TlsServerContext(const TlsServerConfig& config, Options options);
  Status Configure();
  void WatchFiles();
  std::shared_ptr<const KeyPair> Current() const EXCLUDES(mutex_);
  void MakeCurrent(std::shared_ptr<const KeyPair> pair) EXCLUDES(mutex_);
  Status Usable(const KeyPair& pair) const;

  static int SelectCertificate(::ssl_st* ssl, void* self);
  static int VerifyClient(::x509_store_ctx_st* store, void* self);

  const TlsServerConfig config_;
  const Options options_;
  ::ssl_ctx_st* ctx_ = nullptr;

  mutable Mutex mutex_;  // handshakes read current_ while a reload replaces it
  std::shared_ptr<const KeyPair> current_ GUARDED_BY(mutex_);
  Mutex reload_mutex_;  // one reload at a time
  std::unique_ptr<FileStamp> seen_ GUARDED_BY(reload_mutex_);  // the files as they were when last loaded (or tried)
  std::atomic<long long> reloads_{0};
  std::atomic<long long> reload_errors_{0};

  Mutex watch_mutex_;
  std::condition_variable watch_wakeup_;
  bool stopping_ GUARDED_BY(watch_mutex_) = false;
  std::thread watcher_;
};

// True when `cert` has a subject alternative name (DNS name, e-mail address, IP address or URI) that is exactly
// one of `allowed`; IP addresses are compared in Go's spelling (1.2.3.4, 2001:db8::1). exporter-toolkit's
// client_allowed_sans check.
bool HasAllowedSan(::x509_st* cert, const std::vector<std::string>& allowed);

}  // namespace ief
