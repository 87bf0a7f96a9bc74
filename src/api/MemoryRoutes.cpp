#include "api/MemoryRoutes.h"

#include "api/RouteUtil.h"

namespace troupe::api {

namespace asio = boost::asio;
namespace json = boost::json;

void MemoryRoutes::add_routes(Router& r) {
  r.add(http::verb::get, "/debug/memory", [this](RouteContext& c) { return status(c); });
  r.add(http::verb::put, "/debug/memory/ballast", [this](RouteContext& c) { return ballast(c); });
}

json::object MemoryRoutes::report() const {
  json::object out{{"ballast_bytes", ballast_.bytes()}};
  const MemoryBudget* b = s_.memory_budget;
  if (!b) {
    out["enabled"] = false;
    return out;
  }
  out["enabled"] = b->enabled();
  out["state"] = MemoryBudget::state_name(b->state());
  out["used_bytes"] = b->used_bytes();
  out["limit_bytes"] = b->limit_bytes();
  out["soft_bytes"] = b->soft_bytes();
  out["hard_bytes"] = b->hard_bytes();
  out["shed_total"] = b->shed_count();
  out["trims_total"] = b->trim_count();
  out["reason"] = b->reason();
  return out;
}

asio::awaitable<Reply> MemoryRoutes::status(RouteContext& c) {
  if (!c.user.is_admin) co_return reply_error(c, make_error(Errc::forbidden, "admin token required"));
  co_return reply_json(c, http::status::ok, report());
}

asio::awaitable<Reply> MemoryRoutes::ballast(RouteContext& c) {
  if (!c.user.is_admin) co_return reply_error(c, make_error(Errc::forbidden, "admin token required"));
  auto body = read_object(c);
  if (auto* r = std::get_if<Reply>(&body)) co_return std::move(*r);
  auto& obj = std::get<json::object>(body);
  const auto* v = obj.if_contains("bytes");
  if (!v || !v->is_number() || (v->is_int64() && v->as_int64() < 0) || v->is_double()) {
    co_return reply_error(c, make_error(Errc::bad_request, "\"bytes\" must be a non-negative integer"));
  }
  const std::uint64_t bytes = v->is_uint64() ? v->as_uint64() : static_cast<std::uint64_t>(v->as_int64());
  auto st = ballast_.resize(bytes);
  if (!st.ok()) co_return reply_error(c, st.error());
  // Sample at once so the state answers the new usage without waiting for the timer.
  if (s_.memory_budget) s_.memory_budget->sample();
  co_return reply_json(c, http::status::ok, report());
}

}  // namespace troupe::api
