#include "api/CharacterRoutes.h"

#include "api/RouteUtil.h"

namespace troupe::api {

namespace asio = boost::asio;
namespace json = boost::json;

void CharacterRoutes::add_routes(Router& r) {
  r.add(http::verb::get, "/api/characters", [this](RouteContext& c) { return list(c); });
  r.add(http::verb::post, "/api/characters", [this](RouteContext& c) { return create(c); });
  r.add(http::verb::post, "/api/characters/import", [this](RouteContext& c) { return import(c); });
  r.add(http::verb::get, "/api/characters/{id}", [this](RouteContext& c) { return get(c); });
  r.add(http::verb::put, "/api/characters/{id}", [this](RouteContext& c) { return update(c); });
  r.add(http::verb::delete_, "/api/characters/{id}", [this](RouteContext& c) { return remove(c); });
  r.add(http::verb::get, "/api/characters/{id}/export", [this](RouteContext& c) { return export_card(c); });
  r.add(http::verb::get, "/api/characters/{id}/avatar", [this](RouteContext& c) { return avatar(c); });
}

asio::awaitable<Reply> CharacterRoutes::list(RouteContext& c) {
  auto after = query_int(c, "after", 0, 0, INT64_MAX);
  if (!after.ok()) co_return reply_error(c, after.error());
  auto limit = query_int(c, "limit", 50, 1, 200);
  if (!limit.ok()) co_return reply_error(c, limit.error());
  store::ListQuery q{*after, static_cast<int>(*limit), c.query("search")};
  if (q.search.size() > 200) co_return reply_error(c, make_error(Errc::bad_request, "search is longer than 200 bytes"));
  auto list = co_await s_.characters.list(c.user, q);
  if (!list.ok()) co_return reply_error(c, list.error());
  json::array arr;
  for (auto& ch : *list) arr.push_back(to_json(ch));
  json::value next = nullptr;
  if (static_cast<int>(list->size()) == q.limit) next = list->back().id;
  co_return reply_json(c, http::status::ok, json::object{{"characters", std::move(arr)}, {"next_after", next}});
}

asio::awaitable<Reply> CharacterRoutes::create(RouteContext& c) {
  auto body = read_object(c);
  if (auto* r = std::get_if<Reply>(&body)) co_return std::move(*r);
  store::Character ch;
  auto s = apply_character_fields(std::get<json::object>(body), ch);
  if (!s.ok()) co_return reply_error(c, s.error());
  auto created = co_await s_.characters.create(c.user, std::move(ch));
  if (!created.ok()) co_return reply_error(c, created.error());
  co_return reply_json(c, http::status::created, to_json(*created));
}

asio::awaitable<Reply> CharacterRoutes::get(RouteContext& c) {
  auto ch = co_await s_.characters.get(c.user, c.id());
  if (!ch.ok()) co_return reply_error(c, ch.error());
  co_return reply_json(c, http::status::ok, to_json(*ch));
}

asio::awaitable<Reply> CharacterRoutes::update(RouteContext& c) {
  auto body = read_object(c);
  if (auto* r = std::get_if<Reply>(&body)) co_return std::move(*r);
  auto ch = co_await s_.characters.get(c.user, c.id());
  if (!ch.ok()) co_return reply_error(c, ch.error());
  auto s = apply_character_fields(std::get<json::object>(body), *ch);
  if (!s.ok()) co_return reply_error(c, s.error());
  auto updated = co_await s_.characters.update(c.user, std::move(ch).value());
  if (!updated.ok()) co_return reply_error(c, updated.error());
  co_return reply_json(c, http::status::ok, to_json(*updated));
}

asio::awaitable<Reply> CharacterRoutes::remove(RouteContext& c) {
  auto s = co_await s_.characters.remove(c.user, c.id());
  if (!s.ok()) co_return reply_error(c, s.error());
  co_return reply_no_content(c);
}

asio::awaitable<Reply> CharacterRoutes::import(RouteContext& c) {
  const auto& body = c.req.body();
  if (body.empty()) co_return reply_error(c, make_error(Errc::bad_request, "empty body: send a PNG or JSON card"));
  unsigned char first = static_cast<unsigned char>(body[0]);
  std::size_t i = 0;
  while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
  bool png = first == 0x89;
  bool json_like = i < body.size() && (body[i] == '{' || body[i] == '[');
  if (!png && !json_like) {
    co_return reply_error(c, make_error(Errc::unsupported, "body is neither a PNG nor a JSON card"));
  }
  auto ch = co_await s_.characters.import(c.user, std::string(body));
  if (!ch.ok()) co_return reply_error(c, ch.error());
  co_return reply_json(c, http::status::created, to_json(*ch));
}

asio::awaitable<Reply> CharacterRoutes::export_card(RouteContext& c) {
  auto format = c.query("format");
  auto spec = c.query("spec");
  if (format.empty()) format = "json";
  if (spec.empty()) spec = "v2";
  if (format != "json" && format != "png") co_return reply_error(c, make_error(Errc::bad_request, "format must be png or json"));
  if (spec != "v2" && spec != "v3") co_return reply_error(c, make_error(Errc::bad_request, "spec must be v2 or v3"));
  auto card = co_await s_.characters.export_card(
      c.user, c.id(), format == "png" ? chat::ExportFormat::png : chat::ExportFormat::json,
      spec == "v3" ? chat::ExportSpec::v3 : chat::ExportSpec::v2);
  if (!card.ok()) co_return reply_error(c, card.error());
  Reply r;
  r.res.result(http::status::ok);
  r.res.version(c.req.version());
  r.res.keep_alive(c.keep_alive);
  r.res.set(http::field::content_type, card->content_type);
  r.res.set(http::field::content_disposition, "attachment; filename=\"" + card->filename + "\"");
  r.res.body() = std::move(card->body);
  r.res.prepare_payload();
  co_return r;
}

asio::awaitable<Reply> CharacterRoutes::avatar(RouteContext& c) {
  auto png = co_await s_.characters.avatar(c.user, c.id());
  if (!png.ok()) co_return reply_error(c, png.error());
  Reply r;
  r.res.result(http::status::ok);
  r.res.version(c.req.version());
  r.res.keep_alive(c.keep_alive);
  r.res.set(http::field::content_type, "image/png");
  r.res.set(http::field::cache_control, "private, max-age=60");
  r.res.body() = std::move(png).value();
  r.res.prepare_payload();
  co_return r;
}

}  // namespace troupe::api
