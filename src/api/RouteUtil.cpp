#include "api/RouteUtil.h"

#include <charconv>

namespace troupe::api {

Reply reply_json(const RouteContext& c, http::status status, const boost::json::value& body) {
  return json_reply(status, body, c.req.version(), c.keep_alive);
}

Reply reply_json_text(const RouteContext& c, http::status status, std::string body) {
  return json_text_reply(status, std::move(body), c.req.version(), c.keep_alive);
}

Reply reply_error(const RouteContext& c, const Error& e) {
  return error_reply(e, c.req.version(), c.keep_alive);
}

Reply reply_no_content(const RouteContext& c) {
  Reply r;
  r.res.result(http::status::no_content);
  r.res.version(c.req.version());
  r.res.keep_alive(c.keep_alive);
  r.res.prepare_payload();
  return r;
}

std::variant<boost::json::object, Reply> read_object(const RouteContext& c) {
  auto parsed = parse_object(c.req.body());
  if (auto* err = std::get_if<BodyError>(&parsed)) {
    if (!err->position) return reply_error(c, err->error);
    boost::json::object e{{"code", "invalid_json"},
                          {"message", err->error.message},
                          {"position", *err->position}};
    return reply_json(c, http::status::bad_request, boost::json::object{{"error", std::move(e)}});
  }
  return std::move(std::get<boost::json::object>(parsed));
}

Result<std::int64_t> query_int(const RouteContext& c, std::string_view key, std::int64_t fallback,
                               std::int64_t lo, std::int64_t hi) {
  auto s = c.query(key);
  if (s.empty()) return fallback;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
    return make_error(Errc::bad_request, "query parameter '" + std::string(key) +
                                             "' must be an integer in [" + std::to_string(lo) +
                                             ", " + std::to_string(hi) + "]");
  }
  return v;
}

}  // namespace troupe::api
