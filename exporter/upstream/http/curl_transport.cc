#include "upstream/http/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "util/text.h"

namespace ief {
namespace {

// What the callbacks of one exchange share.
struct Exchange {
  HttpResponse* response;
  const CurlTransportOptions* options;
  const Cancellation* cancellation;
  const char* refusal = nullptr;  // why the body was refused, when it was
};

// Grows the body's buffer (and its share of the budget) before libcurl's bytes are appended. Capacity, not size,
// is what the memory costs, so that is what the budget counts; while the buffer moves, old and new both exist.
bool MakeRoom(Exchange& exchange, size_t incoming) {
  std::string& body = exchange.response->body;
  size_t needed = body.size() + incoming;
  if (needed > exchange.options->max_body_bytes) {
    exchange.refusal = "response larger than the body cap";
    return false;
  }
  if (needed <= body.capacity()) return true;
  size_t capacity = std::min(std::max(needed, body.capacity() * 2), exchange.options->max_body_bytes);
  BudgetReservation& memory = exchange.response->memory;
  if (exchange.options->budget != nullptr && !memory.GrowTo(*exchange.options->budget, body.capacity() + capacity)) {
    exchange.refusal = "answers in flight exceed the response memory budget";
    return false;
  }
  body.reserve(capacity);
  memory.ShrinkTo(capacity);
  return true;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  size_t bytes = size * count;
  if (!MakeRoom(exchange, bytes)) return 0;  // makes libcurl abort with CURLE_WRITE_ERROR
  exchange.response->body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    KeepResponseHeader(line.substr(0, colon), TrimWhitespace(line.substr(colon + 1)), *exchange.response);
  }
  return size * count;
}

// libcurl calls this many times a second while a transfer runs (also while it resolves and connects): a non-zero
// answer aborts the transfer.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto& exchange = *static_cast<Exchange*>(user);
  return exchange.cancellation != nullptr && exchange.cancellation->IsCancelled() ? 1 : 0;
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

long Milliseconds(Duration duration) { return static_cast<long>(std::max<Duration::rep>(1, duration.count())); }

void SetRequestOptions(CURL* curl, const HttpRequest& request, const CurlTransportOptions& options,
                       curl_slist* headers, Exchange& exchange, char* error_buffer) {
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, MethodName(request.method));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, Milliseconds(request.timeout));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, Milliseconds(std::min(request.timeout, options.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  // A private CA, the way OpenSSL programs are pointed at one (libcurl itself only knows its built-in bundle).
  if (const char* file = std::getenv("SSL_CERT_FILE"); file != nullptr && *file != '\0') {
    curl_easy_setopt(curl, CURLOPT_CAINFO, file);
  }
  if (const char* dir = std::getenv("SSL_CERT_DIR"); dir != nullptr && *dir != '\0') {
    curl_easy_setopt(curl, CURLOPT_CAPATH, dir);
  }
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // every encoding this libcurl decodes
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_body_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &exchange);
  if (!request.body.empty() || request.method == HttpMethod::kPost) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
}

// Turns libcurl's verdict into an error of the right kind; the message never holds a header value.
Error TransferError(CURLcode code, const Exchange& exchange, const char* error_buffer) {
  if (code == CURLE_ABORTED_BY_CALLBACK) return Error(ErrorKind::kCancelled, "cancelled");
  if (exchange.refusal != nullptr) return Error(ErrorKind::kTransport, exchange.refusal);
  if (code == CURLE_FILESIZE_EXCEEDED) return Error(ErrorKind::kTransport, "response larger than the body cap");
  std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  return Error(ErrorKind::kTransport, TruncateUtf8(detail, 256));
}

}  // namespace

CurlTransport::CurlTransport(CurlTransportOptions options) : options_(options) {
  GlobalInitOnce();
  handle_ = curl_easy_init();
}

CurlTransport::~CurlTransport() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

Result<HttpResponse> CurlTransport::Send(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(handle_);
  if (curl == nullptr) return Error(ErrorKind::kTransport, "libcurl could not create a handle");
  if (request.cancellation != nullptr && request.cancellation->IsCancelled()) {
    return Error(ErrorKind::kCancelled, "cancelled");
  }
  HttpResponse response;
  Exchange exchange{&response, &options_, request.cancellation};
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  char error_buffer[CURL_ERROR_SIZE] = "";
  // Reset per-request options but keep the handle, and with it its connection cache.
  curl_easy_reset(curl);
  SetRequestOptions(curl, request, options_, headers, exchange, error_buffer);
  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);  // the buffer dies with this frame
  if (code != CURLE_OK) return TransferError(code, exchange, error_buffer);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace ief
