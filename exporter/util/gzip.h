// gzip for scrape responses (Prometheus always sends Accept-Encoding: gzip).
#pragma once

#include <string>
#include <string_view>

namespace ief {

// Compresses `data` into a gzip member. Returns an empty string on failure (callers then send it plain).
std::string GzipCompress(std::string_view data);

// True when an Accept-Encoding header value allows gzip.
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace ief
