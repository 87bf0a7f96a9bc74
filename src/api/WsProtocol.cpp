#include "api/WsProtocol.h"

#include <boost/json/serialize.hpp>

#include "api/JsonCodec.h"

namespace troupe::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {
constexpr std::size_t kMaxSubscriptions = 32;
}

std::string WsProtocol::error_frame(std::string_view code, std::string_view message) {
  return json::serialize(json::object{{"type", "error"}, {"code", code}, {"message", message}});
}

asio::awaitable<WsAction> WsProtocol::on_text(std::string_view frame, std::size_t subscribed) {
  WsAction a;
  auto parsed = parse_object(frame);
  if (auto* err = std::get_if<BodyError>(&parsed)) {
    a.text = error_frame(err->position ? "invalid_json" : "bad_request", err->error.message);
    co_return a;
  }
  auto& o = std::get<json::object>(parsed);
  auto type = get_string(o, "type", true);
  if (!type.ok()) {
    a.text = error_frame("bad_request", type.error().message);
    co_return a;
  }
  if (*type == "ping") {
    a.text = R"({"type":"pong"})";
    co_return a;
  }
  auto chat_id = get_int(o, "chat_id", true);
  if ((*type == "subscribe" || *type == "unsubscribe") && !chat_id.ok()) {
    a.text = error_frame("bad_request", chat_id.error().message);
    co_return a;
  }
  if (*type == "unsubscribe") {
    a.kind = WsAction::Kind::unsubscribe;
    a.chat_id = *chat_id;
    a.text = json::serialize(json::object{{"type", "unsubscribed"}, {"chat_id", *chat_id}});
    co_return a;
  }
  if (*type != "subscribe") {
    a.text = error_frame("bad_request", "unknown message type '" + *type + "'");
    co_return a;
  }
  if (subscribed >= kMaxSubscriptions) {
    a.text = error_frame("too_many_subscriptions", "at most 32 chats per connection");
    co_return a;
  }
  auto after = get_int(o, "after_seq", false);
  if (!after.ok() || *after < 0) {
    a.text = error_frame("bad_request", "after_seq must be a non-negative integer");
    co_return a;
  }
  std::int64_t after_seq = *after;
  if (o.find("after_seq") == o.end()) {
    auto chat = co_await s_.chats.get(user_, *chat_id);
    if (!chat.ok()) {
      a.text = error_frame(errc_name(chat.error().code), chat.error().message);
      co_return a;
    }
    after_seq = chat->last_seq;
  }
  auto sub = co_await s_.chats.subscribe(user_, *chat_id, after_seq);
  if (!sub.ok()) {
    json::object e{{"type", "error"}, {"code", errc_name(sub.error().code)},
                   {"message", sub.error().message}, {"chat_id", *chat_id}};
    a.text = json::serialize(e);
    co_return a;
  }
  a.kind = WsAction::Kind::subscribe;
  a.chat_id = *chat_id;
  a.subscription = std::move(sub).value();
  a.text = json::serialize(json::object{{"type", "subscribed"}, {"chat_id", *chat_id}});
  co_return a;
}

}  // namespace troupe::api
