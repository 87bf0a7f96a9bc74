#include "core/Error.h"

namespace troupe {

std::string_view errc_name(Errc c) noexcept {
  switch (c) {
    case Errc::bad_request: return "bad_request";
    case Errc::unauthorized: return "unauthorized";
    case Errc::forbidden: return "forbidden";
    case Errc::not_found: return "not_found";
    case Errc::method_not_allowed: return "method_not_allowed";
    case Errc::timeout: return "timeout";
    case Errc::conflict: return "conflict";
    case Errc::too_large: return "payload_too_large";
    case Errc::unsupported: return "unsupported_media_type";
    case Errc::unprocessable: return "unprocessable";
    case Errc::rate_limited: return "rate_limited";
    case Errc::internal: return "internal";
    case Errc::upstream: return "upstream_error";
    case Errc::unavailable: return "unavailable";
    case Errc::cancelled: return "cancelled";
  }
  return "internal";
}

int errc_http_status(Errc c) noexcept {
  switch (c) {
    case Errc::bad_request: return 400;
    case Errc::unauthorized: return 401;
    case Errc::forbidden: return 403;
    case Errc::not_found: return 404;
    case Errc::method_not_allowed: return 405;
    case Errc::timeout: return 408;
    case Errc::conflict: return 409;
    case Errc::too_large: return 413;
    case Errc::unsupported: return 415;
    case Errc::unprocessable: return 422;
    case Errc::rate_limited: return 429;
    case Errc::internal: return 500;
    case Errc::upstream: return 502;
    case Errc::unavailable: return 503;
    case Errc::cancelled: return 409;
  }
  return 500;
}

}  // namespace troupe
