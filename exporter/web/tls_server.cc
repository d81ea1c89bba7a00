#include "web/tls_server.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <optional>

#include "util/file.h"
#include "util/log.h"
#include "util/time.h"

namespace ief {

struct TlsServerContext::KeyPair {
  X509* leaf = nullptr;
  STACK_OF(X509)* chain = nullptr;  // the certificates after the first in the certificate's PEM
  EVP_PKEY* key = nullptr;
  double not_after = 0;
  std::string subject;

  KeyPair() = default;
  KeyPair(const KeyPair&) = delete;
  KeyPair& operator=(const KeyPair&) = delete;
  ~KeyPair() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

// What a stat of the certificate and key files says; any change (a rewrite in place, a rename over, a Kubernetes
// Secret's symlink swap) changes one of these.
struct TlsServerContext::FileStamp {
  struct File {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    long long modified_ns = 0;
    long long changed_ns = 0;
    bool operator==(const File&) const = default;
  };
  File cert;
  File key;
  bool operator==(const FileStamp&) const = default;
};

namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// The most specific reason OpenSSL recorded, and a clean error queue for whoever comes next.
std::string OpenSslReason() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
  std::string text = reason != nullptr ? reason : "unknown OpenSSL error";
  ERR_clear_error();
  return text;
}

Error Invalid(const PemSource& source, std::string_view what, const std::string& reason) {
  std::string where = source.position + ": " + std::string(what);
  if (!source.file.empty()) where += " " + source.file;
  return Error(ErrorKind::kInvalidArgument, where + ": " + reason);
}

// The PEM text of a source. The caller wipes it when it holds a key.
Result<std::string> ReadPem(const PemSource& source, std::string_view what) {
  if (source.file.empty()) return source.inline_pem;
  Result<std::string> text = ReadFileCapped(source.file, kMaxPemBytes);
  if (!text.ok()) return Error(ErrorKind::kInvalidArgument, source.position + ": " + std::string(what) + ": " + text.error().message);
  return text;
}

BioPtr MemoryBio(const std::string& text) { return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))); }

// Every certificate of a PEM text, in order (PEM blocks of other kinds, such as a key, are skipped).
std::vector<X509*> ReadCertificates(const std::string& text) {
  std::vector<X509*> certificates;
  BioPtr bio = MemoryBio(text);
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certificates.push_back(certificate);
  ERR_clear_error();  // the read that found no more
  return certificates;
}

// Keys are read without a passphrase, as exporter-toolkit reads them; an encrypted key is refused, never asked
// for on a terminal.
int RefusePassphrase(char*, int, int, void*) { return -1; }

double UnixSecondsOf(const ASN1_TIME* time) {
  struct tm parts {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return 0;
  return static_cast<double>(timegm(&parts));
}

std::string SubjectOf(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : "";
}

int ProtocolVersion(TlsVersion version) { return version == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION; }

const char* GroupName(TlsCurve curve) {
  switch (curve) {
    case TlsCurve::kP256: return "P-256";
    case TlsCurve::kP384: return "P-384";
    case TlsCurve::kP521: return "P-521";
    case TlsCurve::kX25519: return "X25519";
  }
  return "";
}

// Go's order when curve_preferences is empty.
const std::vector<TlsCurve> kDefaultCurves = {TlsCurve::kX25519, TlsCurve::kP256, TlsCurve::kP384, TlsCurve::kP521};

// The OpenSSL cipher list (TLS 1.2 and below) for Go's suite names; TLS 1.3 suites are not configurable (as in Go).
Result<std::string> CipherList(const std::vector<std::string>& configured) {
  std::vector<std::string> names(configured.begin(), configured.end());
  if (names.empty()) names.assign(DefaultCipherSuiteNames().begin(), DefaultCipherSuiteNames().end());
  std::string list;
  for (const std::string& name : names) {
    if (IsTls13CipherSuite(name)) continue;
    const char* openssl_name = OPENSSL_cipher_name(name.c_str());
    if (openssl_name == nullptr || std::strcmp(openssl_name, "(NONE)") == 0) {
      return Error(ErrorKind::kInvalidArgument, "cipher suite " + name + " is unknown to this OpenSSL");
    }
    list += (list.empty() ? "" : ":") + std::string(openssl_name);
  }
  return list;
}

bool VerifiesChain(ClientAuthType type) {
  return type == ClientAuthType::kVerifyClientCertIfGiven || type == ClientAuthType::kRequireAndVerifyClientCert;
}

int VerifyMode(ClientAuthType type) {
  switch (type) {
    case ClientAuthType::kNoClientCert: return SSL_VERIFY_NONE;
    case ClientAuthType::kRequestClientCert:
    case ClientAuthType::kVerifyClientCertIfGiven: return SSL_VERIFY_PEER;
    case ClientAuthType::kRequireAnyClientCert:
    case ClientAuthType::kRequireAndVerifyClientCert: return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  return SSL_VERIFY_NONE;
}

// ALPN: HTTP/1.1 when the client offers it. This server has no HTTP/2; a client offering only h2 gets no ALPN
// answer and decides for itself.
int SelectHttp11(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* offered,
                 unsigned int offered_length, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kHttp11, sizeof kHttp11, offered, offered_length) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

TlsServerContext::FileStamp::File StampOf(const std::string& path) {
  TlsServerContext::FileStamp::File file;
  struct stat info {};
  if (path.empty() || ::stat(path.c_str(), &info) != 0) return file;
  file.exists = true;
  file.device = info.st_dev;
  file.inode = info.st_ino;
  file.size = info.st_size;
  file.modified_ns = info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec;
  file.changed_ns = info.st_ctim.tv_sec * 1000000000LL + info.st_ctim.tv_nsec;
  return file;
}

// Go's spelling of an IP address SAN: dotted IPv4 (also for IPv4-mapped IPv6), RFC 5952 IPv6.
std::optional<std::string> IpText(const ASN1_OCTET_STRING* ip) {
  const unsigned char* bytes = ASN1_STRING_get0_data(ip);
  const int length = ASN1_STRING_length(ip);
  char text[INET6_ADDRSTRLEN] = {};
  if (length == 4) return inet_ntop(AF_INET, bytes, text, sizeof text) ? std::optional<std::string>(text) : std::nullopt;
  if (length != 16) return std::nullopt;
  in6_addr address{};
  std::memcpy(&address, bytes, 16);
  if (IN6_IS_ADDR_V4MAPPED(&address)) {
    return inet_ntop(AF_INET, bytes + 12, text, sizeof text) ? std::optional<std::string>(text) : std::nullopt;
  }
  return inet_ntop(AF_INET6, bytes, text, sizeof text) ? std::optional<std::string>(text) : std::nullopt;
}

// A SAN as text; nullopt for kinds Go does not compare and for text that is not printable ASCII.
std::optional<std::string> SanText(const GENERAL_NAME* name) {
  if (name->type == GEN_IPADD) return IpText(name->d.iPAddress);
  if (name->type != GEN_DNS && name->type != GEN_EMAIL && name->type != GEN_URI) return std::nullopt;
  const ASN1_IA5STRING* text = name->d.ia5;
  std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), static_cast<size_t>(ASN1_STRING_length(text)));
  if (!std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7f; })) return std::nullopt;
  return value;
}

}  // namespace

bool HasAllowedSan(X509* cert, const std::vector<std::string>& allowed) {
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return false;
  bool found = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    std::optional<std::string> value = SanText(sk_GENERAL_NAME_value(names, i));
    found = value && std::find(allowed.begin(), allowed.end(), *value) != allowed.end();
  }
  GENERAL_NAMES_free(names);
  return found;
}

namespace {

// The certificate (with any chain after it) and key named by the config, checked to belong together.
Result<std::shared_ptr<TlsServerContext::KeyPair>> LoadKeyPair(const PemSource& cert_source,
                                                               const PemSource& key_source) {
  Result<std::string> cert_text = ReadPem(cert_source, "certificate");
  if (!cert_text.ok()) return cert_text.error();
  std::vector<X509*> certificates = ReadCertificates(*cert_text);
  auto pair = std::make_shared<TlsServerContext::KeyPair>();
  pair->chain = sk_X509_new_null();
  for (size_t i = 0; i < certificates.size(); ++i) {
    if (i == 0) {
      pair->leaf = certificates[i];
    } else {
      sk_X509_push(pair->chain, certificates[i]);
    }
  }
  if (pair->leaf == nullptr) return Invalid(cert_source, "certificate", "no PEM certificate in it");

  Result<std::string> key_read = ReadPem(key_source, "key");
  if (!key_read.ok()) return key_read.error();
  std::string key_text = std::move(key_read).value();
  {
    BioPtr bio = MemoryBio(key_text);
    pair->key = PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase, nullptr);
  }
  OPENSSL_cleanse(key_text.data(), key_text.size());  // no copy of a key read from disk lingers in freed memory
  if (pair->key == nullptr) {
    return Invalid(key_source, "key", "no usable private key in it (PEM, unencrypted): " + OpenSslReason());
  }
  if (X509_check_private_key(pair->leaf, pair->key) != 1) {
    ERR_clear_error();
    return Invalid(key_source, "key", "it does not belong to the certificate");
  }
  pair->not_after = UnixSecondsOf(X509_get0_notAfter(pair->leaf));
  pair->subject = SubjectOf(pair->leaf);
  return pair;
}

}  // namespace

TlsServerContext::TlsServerContext(const TlsServerConfig& config, Options options)
    : config_(config), options_(options), seen_(std::make_unique<FileStamp>()) {}

TlsServerContext::~TlsServerContext() {
  {
    MutexLock lock(watch_mutex_);
    stopping_ = true;
  }
  watch_wakeup_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  SSL_CTX_free(ctx_);
}

Result<std::shared_ptr<TlsServerContext>> TlsServerContext::Create(const TlsServerConfig& config, Options options) {
  std::shared_ptr<TlsServerContext> context(new TlsServerContext(config, options));
  {
    MutexLock reloading(context->reload_mutex_);
    *context->seen_ = FileStamp{StampOf(config.cert.file), StampOf(config.key.file)};
  }
  Result<std::shared_ptr<KeyPair>> pair = LoadKeyPair(config.cert, config.key);
  if (!pair.ok()) return pair.error();
  context->MakeCurrent(std::move(pair).value());
  if (Status configured = context->Configure(); !configured.ok()) return configured.error();
  if (!config.cert.file.empty() || !config.key.file.empty()) {
    context->watcher_ = std::thread(&TlsServerContext::WatchFiles, context.get());
  }
  return context;
}

Status TlsServerContext::Configure() {
  auto fail = [](const std::string& what) { return Error(ErrorKind::kInvalidArgument, what + ": " + OpenSslReason()); };
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (ctx_ == nullptr) return fail("cannot create the TLS context");
  SSL_CTX_set_min_proto_version(ctx_, ProtocolVersion(config_.min_version));
  SSL_CTX_set_max_proto_version(ctx_, ProtocolVersion(config_.max_version));
  // No renegotiation (a client could otherwise make the server redo handshakes at will), no compression (CRIME).
  uint64_t flags = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
  if (config_.prefer_server_cipher_suites) flags |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_CTX_set_options(ctx_, flags);

  Result<std::string> ciphers = CipherList(config_.cipher_suites);
  if (!ciphers.ok()) return ciphers.error();
  if (!ciphers->empty() && SSL_CTX_set_cipher_list(ctx_, ciphers->c_str()) != 1) return fail("cipher_suites");
  std::string groups;
  for (TlsCurve curve : config_.curve_preferences.empty() ? kDefaultCurves : config_.curve_preferences) {
    groups += (groups.empty() ? "" : ":") + std::string(GroupName(curve));
  }
  if (SSL_CTX_set1_groups_list(ctx_, groups.c_str()) != 1) return fail("curve_preferences");

  // No session resumption: every connection makes a fresh (EC)DHE key exchange and, with client certificates,
  // a fresh verification, and no session-ticket key lives in memory for the process's lifetime (OpenSSL never
  // rotates it). A scraper connecting every 15 s pays one signature more per scrape for that.
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx_, 0);
  SSL_CTX_set_alpn_select_cb(ctx_, SelectHttp11, nullptr);

  std::shared_ptr<const KeyPair> pair = Current();
  if (SSL_CTX_use_cert_and_key(ctx_, pair->leaf, pair->key, pair->chain, 1) != 1) {
    return Invalid(config_.cert, "certificate", "refused by OpenSSL: " + OpenSslReason());
  }
  // Each handshake takes the pair current at that moment, so a reload never touches the shared context.
  SSL_CTX_set_cert_cb(ctx_, &TlsServerContext::SelectCertificate, this);

  SSL_CTX_set_verify(ctx_, VerifyMode(config_.client_auth), nullptr);
  if (config_.client_auth != ClientAuthType::kNoClientCert) {
    SSL_CTX_set_cert_verify_callback(ctx_, &TlsServerContext::VerifyClient, this);
  }
  if (config_.client_ca.given()) {
    Result<std::string> text = ReadPem(config_.client_ca, "client CA");
    if (!text.ok()) return text.error();
    std::vector<X509*> authorities = ReadCertificates(*text);
    if (authorities.empty()) return Invalid(config_.client_ca, "client CA", "no PEM certificate in it");
    bool added = true;
    for (X509* authority : authorities) {
      // Trusted for verifying client certificates (the store keeps a reference), and named in the certificate
      // request (a copy of its name).
      added = added && X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), authority) == 1 &&
              SSL_CTX_add_client_CA(ctx_, authority) == 1;
      X509_free(authority);
    }
    if (!added) return Invalid(config_.client_ca, "client CA", OpenSslReason());
  }
  return Status::Ok();
}

std::shared_ptr<const TlsServerContext::KeyPair> TlsServerContext::Current() const {
  MutexLock lock(mutex_);
  return current_;
}

void TlsServerContext::MakeCurrent(std::shared_ptr<const KeyPair> pair) {
  MutexLock lock(mutex_);
  current_ = std::move(pair);
}

TlsStats TlsServerContext::Stats() const {
  return TlsStats{.reloads = reloads_.load(), .reload_errors = reload_errors_.load(), .not_after = Current()->not_after};
}

int TlsServerContext::SelectCertificate(SSL* ssl, void* self) {
  std::shared_ptr<const KeyPair> pair = static_cast<TlsServerContext*>(self)->Current();
  return SSL_use_cert_and_key(ssl, pair->leaf, pair->key, pair->chain, 1) == 1 ? 1 : 0;
}

// exporter-toolkit's client verification: the chain against the client CA for the Verify* types (none for
// RequestClientCert and RequireAnyClientCert), then client_allowed_sans on the client's own certificate.
int TlsServerContext::VerifyClient(X509_STORE_CTX* store, void* self) {
  const TlsServerConfig& config = static_cast<TlsServerContext*>(self)->config_;
  if (VerifiesChain(config.client_auth) && X509_verify_cert(store) != 1) return 0;
  if (config.client_allowed_sans && !HasAllowedSan(X509_STORE_CTX_get0_cert(store), *config.client_allowed_sans)) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    log::Debug("TLS client refused: no allowed subject alternative name in its certificate");
    return 0;
  }
  return 1;
}

void TlsServerContext::ReloadIfChanged() {
  MutexLock reloading(reload_mutex_);
  FileStamp now{StampOf(config_.cert.file), StampOf(config_.key.file)};
  if (now == *seen_) return;
  *seen_ = now;  // a broken pair is reported once, and tried again when the files change again
  Result<std::shared_ptr<KeyPair>> pair = LoadKeyPair(config_.cert, config_.key);
  Status usable = pair.ok() ? Usable(**pair) : Status(pair.error());
  if (!usable.ok()) {
    ++reload_errors_;
    log::Error("Cannot reload the TLS certificate: still serving the previous one", {{"err", usable.error().message}});
    return;
  }
  MakeCurrent(std::move(pair).value());
  ++reloads_;
  std::shared_ptr<const KeyPair> current = Current();
  log::Info("TLS certificate reloaded",
            {{"subject", current->subject},
             {"not_after", FormatUtc(FromUnixSeconds(current->not_after), "%Y-%m-%dT%H:%M:%SZ")}});
}

// What OpenSSL would say when a handshake installs the pair (a key too weak for its security level, say), found
// out on a connection of our own, so the shared context is never changed while it serves.
Status TlsServerContext::Usable(const KeyPair& pair) const {
  std::unique_ptr<SSL, SslFree> probe(SSL_new(ctx_));
  if (probe && SSL_use_cert_and_key(probe.get(), pair.leaf, pair.key, pair.chain, 1) == 1) return Status::Ok();
  return Invalid(config_.cert, "certificate", "refused by OpenSSL: " + OpenSslReason());
}

void TlsServerContext::WatchFiles() {
  MutexLock lock(watch_mutex_);
  while (true) {
    const Clock& clock = *options_.clock;
    const SteadyTime next_check = clock.Steady() + options_.reload_check_interval;
    while (!stopping_ && clock.WaitUntil(lock, watch_wakeup_, next_check)) {
    }
    if (stopping_) return;
    lock.Unlock();
    try {
      ReloadIfChanged();
    } catch (const std::exception& e) {  // nothing may end this thread but the destructor
      log::Error("TLS certificate watch failed", {{"err", e.what()}});
    }
    lock.Lock();
  }
}

}  // namespace ief
