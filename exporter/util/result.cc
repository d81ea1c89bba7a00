#include "util/result.h"

namespace ief {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument: return "invalid_argument";
    case ErrorKind::kIo: return "io";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kHttpStatus: return "http_status";
    case ErrorKind::kTransport: return "transport";
    case ErrorKind::kParse: return "parse";
    case ErrorKind::kAuthRejected: return "auth_rejected";
    case ErrorKind::kAuthUnavailable: return "auth_unavailable";
    case ErrorKind::kCancelled: return "cancelled";
  }
  return "unknown";
}

}  // namespace ief
