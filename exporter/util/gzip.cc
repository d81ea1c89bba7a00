#include "util/gzip.h"

#include <zlib.h>

namespace ief {

std::string GzipCompress(std::string_view data) {
  z_stream stream{};
  // windowBits 15 + 16 selects the gzip wrapper; level 1: scrapes want speed more than the last few percent.
  if (deflateInit2(&stream, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return "";
  std::string out;
  out.resize(deflateBound(&stream, static_cast<uLong>(data.size())));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int result = deflate(&stream, Z_FINISH);
  size_t written = stream.total_out;
  deflateEnd(&stream);
  if (result != Z_STREAM_END) return "";
  out.resize(written);
  return out;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  // "gzip", "gzip, deflate", "deflate, gzip;q=1.0"; "gzip;q=0" refuses it.
  size_t pos = accept_encoding.find("gzip");
  if (pos == std::string_view::npos) return false;
  std::string_view rest = accept_encoding.substr(pos + 4);
  size_t comma = rest.find(',');
  std::string_view params = rest.substr(0, comma);
  return params.find("q=0") == std::string_view::npos || params.find("q=0.") != std::string_view::npos;
}

}  // namespace ief
