#include "api/Http.h"

#include <boost/json/serialize.hpp>

namespace troupe::api {

Reply json_reply(http::status status, const boost::json::value& body, unsigned version,
                 bool keep_alive) {
  return json_text_reply(status, boost::json::serialize(body), version, keep_alive);
}

Reply json_text_reply(http::status status, std::string body, unsigned version, bool keep_alive) {
  Reply r;
  r.res.result(status);
  r.res.version(version);
  r.res.set(http::field::content_type, "application/json");
  r.res.set(http::field::cache_control, "no-store");
  r.res.keep_alive(keep_alive);
  r.res.body() = std::move(body);
  r.res.prepare_payload();
  return r;
}

Reply error_reply(http::status status, std::string_view code, std::string_view message,
                  unsigned version, bool keep_alive) {
  boost::json::object err{{"code", code}, {"message", message}};
  return json_reply(status, boost::json::object{{"error", std::move(err)}}, version, keep_alive);
}

Reply error_reply(const Error& err, unsigned version, bool keep_alive) {
  auto status = static_cast<http::status>(errc_http_status(err.code));
  Reply r = error_reply(status, errc_name(err.code), err.message, version, keep_alive);
  if (err.code == Errc::unavailable || err.code == Errc::rate_limited) {
    r.res.set(http::field::retry_after, "1");
  }
  return r;
}

}  // namespace troupe::api
