// HTTP types shared by api/ and server/: the request, the reply (a response, optionally followed
// by an SSE stream of a subscription) and JSON/error helpers.
// Thread-safety: plain value types and pure functions.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <string>

#include "core/Error.h"
#include "sync/Subscription.h"

namespace troupe::api {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

struct Reply {
  HttpResponse res;
  // When set, `res` carries only the headers of a text/event-stream; the server then writes this
  // subscription's events until the client goes away.
  std::shared_ptr<sync::Subscription> sse;
};

// {"error":{"code":...,"message":...}} with the status of `err.code`.
Reply error_reply(const Error& err, unsigned version, bool keep_alive);
// The same with an explicit status (431, 405 ...) and code string.
Reply error_reply(http::status status, std::string_view code, std::string_view message,
                  unsigned version, bool keep_alive);
Reply json_reply(http::status status, const boost::json::value& body, unsigned version,
                 bool keep_alive);
// json_reply() of a body already serialized (JSON text).
Reply json_text_reply(http::status status, std::string body, unsigned version, bool keep_alive);

}  // namespace troupe::api
