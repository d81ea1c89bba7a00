#include "ief/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>

#include "ief/http1_transport.h"
#include "util/text.h"

namespace ief {
namespace {

struct Exchange {
  HttpResponse* response;
  size_t max_body_bytes;
  bool body_too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  size_t bytes = size * count;
  if (exchange->response->body.size() + bytes > exchange->max_body_bytes) {
    exchange->body_too_large = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  exchange->response->body.append(data, bytes);
  return bytes;
}

// Captures the headers we log or act on.
size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    KeepResponseHeader(line.substr(0, colon), TrimWhitespace(line.substr(colon + 1)), *exchange->response);
  }
  return size * count;
}

// libcurl calls this about once a second and at every chunk: a non-zero answer aborts the transfer.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancellation = static_cast<const Cancellation*>(user);
  return cancellation->IsCancelled() ? 1 : 0;
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

void KeepResponseHeader(std::string_view name, std::string_view value, HttpResponse& response) {
  if (EqualsIgnoringCase(name, "x-request-id")) {
    response.request_id = value;
  } else if (EqualsIgnoringCase(name, "retry-after")) {
    response.retry_after = value;
  } else if (EqualsIgnoringCase(name, "x-subject-token")) {
    response.subject_token = value;
  }
}

CurlTransport::CurlTransport(HttpTransportOptions options) : options_(options) {
  GlobalInitOnce();
  handle_ = curl_easy_init();
}

CurlTransport::~CurlTransport() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

HttpResponse CurlTransport::Send(const HttpRequest& request) {
  HttpResponse response;
  CURL* curl = static_cast<CURL*>(handle_);
  if (curl == nullptr) {
    response.transport_error = "libcurl could not create a handle";
    return response;
  }
  Exchange exchange{&response, options_.max_body_bytes};
  // Reset per-request options but keep the handle (and so its connection cache).
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (options_.accept_compressed) {
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // any encoding curl can decode (gzip, deflate...)
  }
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_body_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  if (options_.cancellation != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<Cancellation*>(options_.cancellation));
  }
  if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  auto started = std::chrono::steady_clock::now();
  CURLcode code = curl_easy_perform(curl);
  response.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  curl_slist_free_all(headers);

  if (exchange.body_too_large || code == CURLE_FILESIZE_EXCEEDED) {
    response.transport_error = "response larger than " + std::to_string(options_.max_body_bytes) + " bytes";
  } else if (code != CURLE_OK) {
    response.transport_error = curl_easy_strerror(code);
  } else {
    response.transport_ok = true;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  }
  if (!response.transport_ok) response.body.clear();
  return response;
}

bool ProxyConfiguredInEnvironment() {
  for (const char* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return true;
  }
  return false;
}

namespace {
bool UsesCurl(HttpClientKind requested) {
  return requested == HttpClientKind::kCurl || ProxyConfiguredInEnvironment();
}
}  // namespace

const char* EffectiveHttpClientName(HttpClientKind requested) { return UsesCurl(requested) ? "curl" : "builtin"; }

std::unique_ptr<HttpTransport> MakeHttpTransport(const HttpTransportOptions& options) {
  if (UsesCurl(options.client)) return std::make_unique<CurlTransport>(options);
  return std::make_unique<Http1Transport>(options);
}

}  // namespace ief
