// HTTP/1.1 for the turn floor: Request and parse_request (the head up to the blank line, then
// exactly Content-Length body bytes), and http_response (a complete answer).
// Thread-safety: stateless; the I/O threads call them, each on its own connections' bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace troupe_turn_floor {

struct Request {
  std::string_view method, path, query, body, authorization, last_event_id;
  bool close = false;
};

enum class Parse { incomplete, ok, bad, header_too_large, body_too_large };

// Parses the request at the start of `in`; on ok, r's views point into `in` and `used` is its
// length (head and body).
Parse parse_request(std::string_view in, Request& r, std::size_t& used);

// The complete answer: status line, Content-Type, Content-Length, and body.
std::string http_response(int status, std::string_view body, bool close = false,
                          std::string_view type = "application/json");

}  // namespace troupe_turn_floor
