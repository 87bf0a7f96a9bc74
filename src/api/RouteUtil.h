// Helpers shared by the route groups: replies, body parsing and query parameters with errors.
// Thread-safety: pure functions; any thread.
#pragma once

#include <boost/json/value.hpp>
#include <variant>

#include "api/JsonCodec.h"
#include "api/Router.h"

namespace troupe::api {

Reply reply_json(const RouteContext& c, http::status status, const boost::json::value& body);
// reply_json() of JSON text written by hand (JsonWriter).
Reply reply_json_text(const RouteContext& c, http::status status, std::string body);
Reply reply_error(const RouteContext& c, const Error& e);
Reply reply_no_content(const RouteContext& c);
// Body as a JSON object, or an error reply (400 invalid_json with position).
std::variant<boost::json::object, Reply> read_object(const RouteContext& c);
// Integer query parameter in [lo, hi]; `fallback` when absent.
Result<std::int64_t> query_int(const RouteContext& c, std::string_view key, std::int64_t fallback,
                               std::int64_t lo, std::int64_t hi);

}  // namespace troupe::api
