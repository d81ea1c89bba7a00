// One side of the scrape comparison, in its own process so resident memory is measured fairly:
//   scrape_compare exporter JOBS TASKS [REPEATS] [gzip]            the exporter's way: each job's text kept as
//                                                                  deflate segments, served by its CivetWeb server
//   scrape_compare_static static JOBS TASKS [REPEATS] [gzip]       CivetWeb serving the exporter's exact body for
//                                                                  the same jobs as a static file (`metrics`, or
//                                                                  `metrics.gz` for gzip): the floor of serving
//   scrape_compare_baseline baseline JOBS TASKS [REPEATS] [gzip]   plain prometheus-cpp: a Family<Gauge> per metric
//                                                                  in a Registry served by prometheus-cpp's
//                                                                  Exposer, holding the identical series
// The three sides are three programs built from this file (IEF_BENCH_BASELINE or IEF_BENCH_STATIC picks the side):
// the baseline links prometheus-cpp's pull library, which brings Debian's CivetWeb, the exporter side links the
// exporter's own CivetWeb (which maps no URL to a file), the static side the same CivetWeb source built with files;
// one program holding two copies would mix their symbols.
// Each scrapes itself over HTTP on 127.0.0.1 with libcurl (Accept-Encoding: gzip when asked) and prints one line of
// key=value figures: bytes, scrape_ms (median of repeated scrapes), rss_mb (after the first scrape); the exporter
// side also fill_s (rendering every job, the time to the first full view), fill_peak_mb (the highest while
// rendering), fill_rss_mb (after it), peak_rss_mb (the highest until the end) and rss20_mb (after 20 scrapes).
#include <curl/curl.h>
#include <malloc.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "bench_data.h"
#include "metrics/api_metrics.h"
#include "metrics/exposition.h"
#include "metrics/process_collector.h"
#include "util/memory.h"
#if defined(IEF_BENCH_BASELINE)
#include <prometheus/exposer.h>
#elif defined(IEF_BENCH_STATIC)
#include <civetweb.h>
#include <unistd.h>
#else
#include "web/exporter_web.h"
#endif

namespace {

// A line of /proc/self/status, in MB: VmRSS (resident now) or VmHWM (the highest so far).
double StatusMegabytes(const std::string& field = "VmRSS:") {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == field) {
      double kb = 0;
      status >> kb;
      return kb / 1024;
    }
    status.ignore(1 << 20, '\n');
  }
  return 0;
}

bool g_gzip = false;

// One HTTP scrape of `url`; returns the body size (compressed size when gzip was asked). The body is counted and
// dropped, as a streaming scraper (Prometheus) consumes it, so the client costs the same little on both sides.
size_t CountBytes(char*, size_t size, size_t count, void* total) {
  *static_cast<size_t*>(total) += size * count;
  return size * count;
}

size_t HttpScrape(const std::string& url) {
  static CURL* curl = curl_easy_init();  // reused: one keep-alive connection, like a scraper
  size_t total = 0;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CountBytes);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &total);
  curl_slist* headers = g_gzip ? curl_slist_append(nullptr, "Accept-Encoding: gzip") : nullptr;
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (code != CURLE_OK || status != 200) {
    std::fprintf(stderr, "scrape failed: %s %ld\n", curl_easy_strerror(code), status);
    std::exit(1);
  }
  return total;
}

template <typename Scrape>
double MedianMilliseconds(int repeats, Scrape scrape, size_t& bytes) {
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    auto started = std::chrono::steady_clock::now();
    bytes = scrape();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

#if !defined(IEF_BENCH_BASELINE)
// The exporter's exposition of the synthetic jobs: the job text, the exporter's own registry, process metrics.
struct ExporterExposition {
  explicit ExporterExposition(int jobs, int tasks) {
    auto started = std::chrono::steady_clock::now();
    store.Publish(ief::bench::MakeSnapshot(jobs, tasks));
    fill_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    exposition.SetSnapshotSource(&store);
    exposition.Add(&registry);
    exposition.Add(&process);
  }
  ief::SnapshotStore store;
  prometheus::Registry registry;
  ief::ApiMetrics api{registry};
  ief::ExporterInfoMetrics info{registry, {}};
  ief::ProcessCollector process;
  ief::Exposition exposition;
  double fill_seconds = 0;
};
#endif

#if !defined(IEF_BENCH_BASELINE) && !defined(IEF_BENCH_STATIC)
int RunExporter(int jobs, int tasks, int repeats) {
  ief::TuneAllocator();  // as the exporter's main does
  ExporterExposition source(jobs, tasks);
  const double fill_peak = StatusMegabytes("VmHWM:");  // the highest while every job was rendered, new
  malloc_trim(0);
  const double fill_rss = StatusMegabytes();
  auto routes = ief::ExporterRoutes({"/metrics"}, source.exposition, [] { return true; },
                                    [] { return ief::Status::Ok(); });
  auto server = ief::HttpServer::Start({{"127.0.0.1:0"}, 8, 120000, 1 << 16, nullptr}, std::move(routes));
  if (!server.ok()) return 1;
  std::string url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/metrics";
  size_t bytes = HttpScrape(url);
  double rss = StatusMegabytes();
  double ms = MedianMilliseconds(repeats, [&] { return HttpScrape(url); }, bytes);
  for (int i = repeats; i < 20; ++i) HttpScrape(url);
  std::printf("mode=exporter jobs=%d tasks=%d gzip=%d bytes=%zu scrape_ms=%.2f rss_mb=%.1f fill_s=%.2f "
              "fill_peak_mb=%.1f fill_rss_mb=%.1f peak_rss_mb=%.1f rss20_mb=%.1f\n", jobs, tasks, g_gzip, bytes, ms,
              rss, source.fill_seconds, fill_peak, fill_rss, StatusMegabytes("VmHWM:"), StatusMegabytes());
  if (const char* hold = std::getenv("IEF_BENCH_HOLD_SECONDS")) {  // keep serving, for scraping by other tools
    std::printf("url=%s\n", url.c_str());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(std::atoi(hold)));
  }
  return 0;
}
#endif

#if defined(IEF_BENCH_STATIC)
// The exporter's body for the jobs (the gzip stream it would send, or its plain text), as the one file in a fresh
// directory: `metrics.gz` alone, so CivetWeb answers /metrics with it and Content-Encoding: gzip.
std::string WriteBody(int jobs, int tasks) {
  std::string body;
  {
    ExporterExposition source(jobs, tasks);
    ief::TextPieces pieces = source.exposition.RenderPieces();
    std::shared_ptr<const void> owner;
    if (g_gzip) {
      for (std::string_view piece : pieces.Gzipped(owner)) body += piece;
    } else {
      body = pieces.Flatten();
    }
  }
  char directory[] = "/tmp/ief-static-XXXXXX";
  if (mkdtemp(directory) == nullptr) return "";
  std::string path = std::string(directory) + (g_gzip ? "/metrics.gz" : "/metrics");
  std::ofstream(path, std::ios::binary) << body;
  return directory;
}

int RunStatic(int jobs, int tasks, int repeats) {
  std::string directory = WriteBody(jobs, tasks);
  if (directory.empty()) return 1;
  const char* options[] = {"document_root", directory.c_str(), "listening_ports", "127.0.0.1:0",
                           "num_threads", "8", "enable_keep_alive", "yes", "tcp_nodelay", "1", nullptr};
  mg_callbacks callbacks{};
  mg_context* context = mg_start(&callbacks, nullptr, options);
  if (context == nullptr) return 1;
  mg_server_port port{};
  mg_get_server_ports(context, 1, &port);
  std::string url = "http://127.0.0.1:" + std::to_string(port.port) + "/metrics";
  size_t bytes = HttpScrape(url);
  double rss = StatusMegabytes();
  double ms = MedianMilliseconds(repeats, [&] { return HttpScrape(url); }, bytes);
  std::printf("mode=static jobs=%d tasks=%d gzip=%d bytes=%zu scrape_ms=%.2f rss_mb=%.1f\n", jobs, tasks, g_gzip,
              bytes, ms, rss);
  mg_stop(context);
  std::remove((directory + (g_gzip ? "/metrics.gz" : "/metrics")).c_str());
  rmdir(directory.c_str());
  return 0;
}
#endif

#if defined(IEF_BENCH_BASELINE)
// name{a="b",...} value -> (name, labels, value); enough for the text this project writes.
bool ParseSample(const std::string& line, std::string& name, std::map<std::string, std::string>& labels,
                 double& value) {
  if (line.empty() || line[0] == '#') return false;
  size_t brace = line.find('{');
  size_t space = line.rfind(' ');
  name = line.substr(0, std::min(brace, space));
  labels.clear();
  if (brace != std::string::npos) {
    size_t pos = brace + 1;
    while (line[pos] != '}') {
      size_t eq = line.find('=', pos);
      std::string key = line.substr(pos, eq - pos);
      std::string val;
      size_t i = eq + 2;
      for (; line[i] != '"'; ++i) {
        if (line[i] == '\\') ++i;
        val += line[i];
      }
      labels[key] = val;
      pos = i + 1;
      if (line[pos] == ',') ++pos;
    }
  }
  value = std::strtod(line.c_str() + space + 1, nullptr);
  return true;
}

int RunBaseline(int jobs, int tasks, int repeats) {
  auto shared_registry = std::make_shared<prometheus::Registry>();
  prometheus::Registry& registry = *shared_registry;
  size_t series = 0;
  {
    std::string text = ief::RenderSnapshot(*ief::bench::MakeSnapshot(jobs, tasks));
    std::istringstream lines(text);
    std::map<std::string, prometheus::Family<prometheus::Gauge>*> families;
    std::string line, name;
    std::map<std::string, std::string> labels;
    double value;
    while (std::getline(lines, line)) {
      if (!ParseSample(line, name, labels, value)) continue;
      auto& family = families[name];
      if (family == nullptr) family = &prometheus::BuildGauge().Name(name).Help("help").Register(registry);
      family->Add(labels).Set(value);
      ++series;
    }
  }
  malloc_trim(0);
  prometheus::Exposer exposer("127.0.0.1:0");
  exposer.RegisterCollectable(shared_registry);  // held as a weak_ptr: shared_registry keeps it alive
  std::string url = "http://127.0.0.1:" + std::to_string(exposer.GetListeningPorts().front()) + "/metrics";
  size_t bytes = HttpScrape(url);
  double rss = StatusMegabytes();
  double ms = MedianMilliseconds(repeats, [&] { return HttpScrape(url); }, bytes);
  std::printf("mode=baseline jobs=%d tasks=%d gzip=%d series=%zu bytes=%zu scrape_ms=%.2f rss_mb=%.1f\n", jobs,
              tasks, g_gzip, series, bytes, ms, rss);
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s exporter|static|baseline JOBS TASKS [REPEATS]\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  int jobs = std::atoi(argv[2]), tasks = std::atoi(argv[3]);
  int repeats = argc > 4 ? std::atoi(argv[4]) : 7;
  g_gzip = argc > 5 && std::string(argv[5]) == "gzip";
#if defined(IEF_BENCH_BASELINE)
  if (mode == "baseline") return RunBaseline(jobs, tasks, repeats);
#elif defined(IEF_BENCH_STATIC)
  if (mode == "static") return RunStatic(jobs, tasks, repeats);
#else
  if (mode == "exporter") return RunExporter(jobs, tasks, repeats);
#endif
  std::fprintf(stderr, "%s: mode %s is not built into this program (scrape_compare: exporter, "
                       "scrape_compare_static: static, scrape_compare_baseline: baseline)\n", argv[0], mode.c_str());
  return 2;
}
