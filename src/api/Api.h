// Api: the REST surface. handle() authenticates, routes and runs one request and always returns a
// reply: expected failures become JSON errors, and no exception escapes (it becomes a 500).
// Thread-safety: handle() may run concurrently on any number of I/O executors.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>

#include "api/Http.h"
#include "api/HttpMetrics.h"
#include "api/Router.h"
#include "api/Services.h"
#include "api/StaticFiles.h"
#include "core/RateLimiter.h"

namespace troupe::api {

class Api {
 public:
  explicit Api(Services services);
  ~Api();

  boost::asio::awaitable<Reply> handle(const HttpRequest& req);
  // Authenticates an upgrade/stream request by header or access_token query parameter.
  boost::asio::awaitable<Result<store::User>> authenticate(const HttpRequest& req);
  Services& services() { return s_; }

 private:
  boost::asio::awaitable<Reply> readyz(RouteContext& c);
  boost::asio::awaitable<Reply> metrics(RouteContext& c);
  boost::asio::awaitable<Reply> dispatch(const HttpRequest& req, std::size_t& route);
  Services s_;
  Router router_;
  StaticFiles static_;
  RateLimiter user_rate_;
  struct Groups;
  std::unique_ptr<Groups> groups_;
  std::unique_ptr<HttpMetrics> http_metrics_;
};

// Extracts the bearer token from Authorization or ?access_token=.
std::string bearer_token(const HttpRequest& req);
// Whether a request is refused (503) while the memory budget is above its hard mark.
bool sheds_under_memory_pressure(http::verb method, std::string_view path);

}  // namespace troupe::api
