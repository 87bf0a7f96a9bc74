#include "api/MessageRoutes.h"

#include "api/RouteUtil.h"

namespace troupe::api {

namespace asio = boost::asio;
namespace json = boost::json;

void MessageRoutes::add_routes(Router& r) {
  r.add(http::verb::put, "/api/messages/{id}", [this](RouteContext& c) { return edit(c); });
  r.add(http::verb::delete_, "/api/messages/{id}", [this](RouteContext& c) { return remove(c); });
  r.add(http::verb::post, "/api/messages/{id}/select", [this](RouteContext& c) { return select(c); });
  r.add(http::verb::post, "/api/messages/{id}/branch", [this](RouteContext& c) { return branch(c); });
  r.add(http::verb::get, "/api/messages/{id}/siblings",
        [this](RouteContext& c) { return siblings(c); });
}

asio::awaitable<Reply> MessageRoutes::edit(RouteContext& c) {
  auto body = read_object(c);
  if (auto* r = std::get_if<Reply>(&body)) co_return std::move(*r);
  auto content = get_string(std::get<json::object>(body), "content", true);
  if (!content.ok()) co_return reply_error(c, content.error());
  auto m = co_await s_.chats.edit(c.user, c.id(), std::move(content).value());
  if (!m.ok()) co_return reply_error(c, m.error());
  co_return reply_json(c, http::status::ok, to_json(*m));
}

asio::awaitable<Reply> MessageRoutes::remove(RouteContext& c) {
  auto s = co_await s_.chats.remove_message(c.user, c.id());
  if (!s.ok()) co_return reply_error(c, s.error());
  co_return reply_no_content(c);
}

asio::awaitable<Reply> MessageRoutes::select(RouteContext& c) {
  auto chat = co_await s_.chats.select(c.user, c.id());
  if (!chat.ok()) co_return reply_error(c, chat.error());
  co_return reply_json(c, http::status::ok, to_json(*chat));
}

asio::awaitable<Reply> MessageRoutes::branch(RouteContext& c) {
  auto chat = co_await s_.chats.branch(c.user, c.id());
  if (!chat.ok()) co_return reply_error(c, chat.error());
  co_return reply_json(c, http::status::created, to_json(*chat));
}

asio::awaitable<Reply> MessageRoutes::siblings(RouteContext& c) {
  auto sib = co_await s_.chats.siblings(c.user, c.id());
  if (!sib.ok()) co_return reply_error(c, sib.error());
  json::array ids;
  int selected_index = -1;
  for (std::size_t i = 0; i < sib->ids.size(); ++i) {
    ids.push_back(sib->ids[i]);
    if (sib->ids[i] == sib->selected_id) selected_index = static_cast<int>(i);
  }
  json::object o{{"message_id", c.id()},
                 {"parent_id", sib->parent_id},
                 {"siblings", std::move(ids)},
                 {"selected_id", sib->selected_id},
                 {"selected_index", selected_index},
                 {"count", sib->count}};
  co_return reply_json(c, http::status::ok, std::move(o));
}

}  // namespace troupe::api
