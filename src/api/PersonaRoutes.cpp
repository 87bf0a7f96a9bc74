#include "api/PersonaRoutes.h"

#include "api/RouteUtil.h"

namespace troupe::api {

namespace asio = boost::asio;
namespace json = boost::json;

void PersonaRoutes::add_routes(Router& r) {
  r.add(http::verb::get, "/api/personas", [this](RouteContext& c) { return list(c); });
  r.add(http::verb::post, "/api/personas", [this](RouteContext& c) { return create(c); });
  r.add(http::verb::get, "/api/personas/{id}", [this](RouteContext& c) { return get(c); });
  r.add(http::verb::put, "/api/personas/{id}", [this](RouteContext& c) { return update(c); });
  r.add(http::verb::delete_, "/api/personas/{id}", [this](RouteContext& c) { return remove(c); });
}

asio::awaitable<Reply> PersonaRoutes::list(RouteContext& c) {
  auto list = co_await s_.characters.list_personas(c.user);
  if (!list.ok()) co_return reply_error(c, list.error());
  json::array arr;
  for (auto& p : *list) arr.push_back(to_json(p));
  co_return reply_json(c, http::status::ok, json::object{{"personas", std::move(arr)}});
}

asio::awaitable<Reply> PersonaRoutes::create(RouteContext& c) {
  auto body = read_object(c);
  if (auto* r = std::get_if<Reply>(&body)) co_return std::move(*r);
  store::Persona p;
  auto s = apply_persona_fields(std::get<json::object>(body), p);
  if (!s.ok()) co_return reply_error(c, s.error());
  auto created = co_await s_.characters.create_persona(c.user, std::move(p));
  if (!created.ok()) co_return reply_error(c, created.error());
  co_return reply_json(c, http::status::created, to_json(*created));
}

asio::awaitable<Reply> PersonaRoutes::get(RouteContext& c) {
  auto p = co_await s_.characters.get_persona(c.user, c.id());
  if (!p.ok()) co_return reply_error(c, p.error());
  co_return reply_json(c, http::status::ok, to_json(*p));
}

asio::awaitable<Reply> PersonaRoutes::update(RouteContext& c) {
  auto body = read_object(c);
  if (auto* r = std::get_if<Reply>(&body)) co_return std::move(*r);
  auto p = co_await s_.characters.get_persona(c.user, c.id());
  if (!p.ok()) co_return reply_error(c, p.error());
  auto s = apply_persona_fields(std::get<json::object>(body), *p);
  if (!s.ok()) co_return reply_error(c, s.error());
  auto updated = co_await s_.characters.update_persona(c.user, std::move(p).value());
  if (!updated.ok()) co_return reply_error(c, updated.error());
  co_return reply_json(c, http::status::ok, to_json(*updated));
}

asio::awaitable<Reply> PersonaRoutes::remove(RouteContext& c) {
  auto s = co_await s_.characters.remove_persona(c.user, c.id());
  if (!s.ok()) co_return reply_error(c, s.error());
  co_return reply_no_content(c);
}

}  // namespace troupe::api
