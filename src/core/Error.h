// Error: an expected failure as a value (code + human message).
// Thread-safety: a plain value type; copy freely between threads.
#pragma once

#include <string>
#include <string_view>

namespace troupe {

enum class Errc {
  bad_request,        // 400
  unauthorized,       // 401
  forbidden,          // 403
  not_found,          // 404
  method_not_allowed, // 405
  timeout,            // 408
  conflict,           // 409
  too_large,          // 413
  unsupported,        // 415
  unprocessable,      // 422
  rate_limited,       // 429
  internal,           // 500
  upstream,           // 502
  unavailable,        // 503
  cancelled,          // generation stopped; not an HTTP error by itself
};

struct Error {
  Errc code = Errc::internal;
  std::string message;

  static Error make(Errc c, std::string msg) { return Error{c, std::move(msg)}; }
};

// Stable snake_case name used in JSON error bodies ("not_found", ...).
std::string_view errc_name(Errc c) noexcept;
// HTTP status that an error of this code answers with.
int errc_http_status(Errc c) noexcept;

}  // namespace troupe
