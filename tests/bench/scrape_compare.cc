// One side of the scrape comparison, in its own process so resident memory is measured fairly:
//   scrape_compare exporter JOBS TASKS [REPEATS] [gzip]            the exporter's way: pre-rendered job text
//                                                                  served by its CivetWeb server as pieces
//   scrape_compare_baseline baseline JOBS TASKS [REPEATS] [gzip]   plain prometheus-cpp: a Family<Gauge> per metric
//                                                                  in a Registry served by prometheus-cpp's
//                                                                  Exposer, holding the identical series
// The two sides are two programs built from this file (IEF_BENCH_BASELINE picks the side): the baseline links
// prometheus-cpp's pull library, which brings Debian's CivetWeb, and the exporter side links the exporter's own
// CivetWeb; one program holding both copies would mix their symbols.
// Each scrapes itself over HTTP on 127.0.0.1 with libcurl (Accept-Encoding: gzip when asked) and prints one line of
// key=value figures: bytes, scrape_ms (median of repeated scrapes), rss_mb (after the first scrape).
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
#if defined(IEF_BENCH_BASELINE)
#include <prometheus/exposer.h>
#else
#include "web/exporter_web.h"
#endif

namespace {

double ResidentMegabytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
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
int RunExporter(int jobs, int tasks, int repeats) {
  ief::SnapshotStore store;
  store.Publish(ief::bench::MakeSnapshot(jobs, tasks));
  prometheus::Registry registry;
  ief::ApiMetrics api(registry);
  ief::ExporterInfoMetrics info(registry, {});
  ief::ProcessCollector process;
  ief::Exposition exposition;
  exposition.SetSnapshotSource(&store);
  exposition.Add(&registry);
  exposition.Add(&process);
  auto routes = ief::ExporterRoutes({"/metrics"}, exposition, [] { return true; }, [] { return ief::Status::Ok(); });
  auto server = ief::HttpServer::Start({{"127.0.0.1:0"}, 8, 120000, 1 << 16, nullptr}, std::move(routes));
  if (!server.ok()) return 1;
  std::string url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/metrics";
  malloc_trim(0);
  size_t bytes = HttpScrape(url);
  double rss = ResidentMegabytes();
  double ms = MedianMilliseconds(repeats, [&] { return HttpScrape(url); }, bytes);
  std::printf("mode=exporter jobs=%d tasks=%d gzip=%d bytes=%zu scrape_ms=%.2f rss_mb=%.1f\n", jobs, tasks,
              g_gzip, bytes, ms, rss);
  if (const char* hold = std::getenv("IEF_BENCH_HOLD_SECONDS")) {  // keep serving, for scraping by other tools
    std::printf("url=%s\n", url.c_str());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(std::atoi(hold)));
  }
  return 0;
}
#else
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
  double rss = ResidentMegabytes();
  double ms = MedianMilliseconds(repeats, [&] { return HttpScrape(url); }, bytes);
  std::printf("mode=baseline jobs=%d tasks=%d gzip=%d series=%zu bytes=%zu scrape_ms=%.2f rss_mb=%.1f\n", jobs,
              tasks, g_gzip, series, bytes, ms, rss);
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s exporter|baseline JOBS TASKS [REPEATS]\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  int jobs = std::atoi(argv[2]), tasks = std::atoi(argv[3]);
  int repeats = argc > 4 ? std::atoi(argv[4]) : 7;
  g_gzip = argc > 5 && std::string(argv[5]) == "gzip";
#if defined(IEF_BENCH_BASELINE)
  if (mode == "baseline") return RunBaseline(jobs, tasks, repeats);
#else
  if (mode == "exporter") return RunExporter(jobs, tasks, repeats);
#endif
  std::fprintf(stderr, "%s: mode %s is not built into this program (scrape_compare: exporter, "
                       "scrape_compare_baseline: baseline)\n", argv[0], mode.c_str());
  return 2;
}
