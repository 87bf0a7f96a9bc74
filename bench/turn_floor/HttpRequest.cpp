#include "HttpRequest.h"

#include <algorithm>
#include <cstdint>

#include "Common.h"
#include "Text.h"

namespace troupe_turn_floor {

Parse parse_request(std::string_view in, Request& r, std::size_t& used) {
  const std::size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos)
    return in.size() > kMaxHeader ? Parse::header_too_large : Parse::incomplete;
  if (end + 4 > kMaxHeader) return Parse::header_too_large;
  const std::string_view head = in.substr(0, end);
  std::size_t eol = std::min(head.find("\r\n"), head.size());
  const std::string_view line = head.substr(0, eol);
  const std::size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return Parse::bad;
  r.method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                         version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return Parse::bad;
  r.close = version == "HTTP/1.0";
  if (target.empty() || target[0] != '/') return Parse::bad;
  const std::size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  std::int64_t length = -1;
  for (std::size_t pos = eol + 2; pos < head.size(); pos = eol + 2) {
    eol = std::min(head.find("\r\n", pos), head.size());
    const std::string_view h = head.substr(pos, eol - pos);
    const std::size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return Parse::bad;
    const std::string_view name = h.substr(0, colon);
    std::string_view v = h.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    std::int64_t n = 0;
    if (iequals(name, "content-length")) {
      if (!parse_int(v, n) || n < 0 || (length >= 0 && n != length)) return Parse::bad;
      length = n;
    } else if (iequals(name, "transfer-encoding")) {
      return Parse::bad;  // bodies come with a Content-Length only
    } else if (iequals(name, "authorization")) {
      r.authorization = v;
    } else if (iequals(name, "connection")) {
      r.close = iequals(v, "close") || (r.close && !iequals(v, "keep-alive"));
    } else if (iequals(name, "last-event-id")) {
      r.last_event_id = v;
    }
  }
  const std::size_t body = length < 0 ? 0 : static_cast<std::size_t>(length);
  if (body > kMaxBody) return Parse::body_too_large;
  if (in.size() < end + 4 + body) return Parse::incomplete;
  r.body = in.substr(end + 4, body);
  used = end + 4 + body;
  return Parse::ok;
}

std::string http_response(int status, std::string_view body, bool close, std::string_view type) {
  const char* reason = status == 200   ? "OK"
                       : status == 201 ? "Created"
                       : status == 202 ? "Accepted"
                       : status == 400 ? "Bad Request"
                       : status == 401 ? "Unauthorized"
                       : status == 404 ? "Not Found"
                       : status == 409 ? "Conflict"
                       : status == 413 ? "Payload Too Large"
                       : status == 431 ? "Request Header Fields Too Large"
                                       : "Service Unavailable";
  std::string o;
  add(o, "HTTP/1.1 ", status, " ", reason, "\r\nContent-Type: ", type,
      "\r\nContent-Length: ", body.size(), status == 401 ? "\r\nWWW-Authenticate: Bearer" : "",
      close ? "\r\nConnection: close" : "", "\r\n\r\n", body);
  return o;
}

}  // namespace troupe_turn_floor
