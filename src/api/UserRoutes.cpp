#include "api/UserRoutes.h"

#include "api/RouteUtil.h"

namespace troupe::api {

namespace asio = boost::asio;

void UserRoutes::add_routes(Router& r) {
  r.add(http::verb::delete_, "/api/users/{id}", [this](RouteContext& c) { return remove(c); });
}

asio::awaitable<Reply> UserRoutes::remove(RouteContext& c) {
  if (!c.user.is_admin) co_return reply_error(c, make_error(Errc::forbidden, "admin token required"));
  if (!s_.users) co_return reply_error(c, make_error(Errc::unavailable, "user deletion is not available"));
  auto s = co_await s_.users->remove(c.user, c.id());
  if (!s.ok()) co_return reply_error(c, s.error());
  co_return reply_no_content(c);
}

}  // namespace troupe::api
