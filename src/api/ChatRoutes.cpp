#include "api/ChatRoutes.h"

#include <charconv>

#include "api/JsonWriter.h"
#include "api/RouteUtil.h"

namespace troupe::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// {"reply":..,"generation":..[,"message":..]}, written by hand: it answers every turn.
std::string turn_json(const store::Turn& t) {
  std::string out = "{\"reply\":";
  append_json(out, t.reply);
  out += ",\"generation\":";
  append_json(out, t.generation);
  if (t.user_message.id) {
    out += ",\"message\":";
    append_json(out, t.user_message);
  }
  out += '}';
  return out;
}

}  // namespace

void ChatRoutes::add_routes(Router& r) {
  r.add(http::verb::get, "/api/chats", [this](RouteContext& c) { return list(c); });
  r.add(http::verb::post, "/api/chats", [this](RouteContext& c) { return create(c); });
  r.add(http::verb::get, "/api/chats/{id}", [this](RouteContext& c) { return get(c); });
  r.add(http::verb::delete_, "/api/chats/{id}", [this](RouteContext& c) { return remove(c); });
  r.add(http::verb::get, "/api/chats/{id}/messages", [this](RouteContext& c) { return messages(c); });
  r.add(http::verb::get, "/api/chats/{id}/memories", [this](RouteContext& c) { return memories(c); });
  r.add(http::verb::post, "/api/chats/{id}/messages", [this](RouteContext& c) { return post_message(c); });
  r.add(http::verb::post, "/api/chats/{id}/generations", [this](RouteContext& c) { return generate(c); });
  r.add(http::verb::get, "/api/chats/{id}/events", [this](RouteContext& c) { return events(c); });
  r.add(http::verb::get, "/api/generations/{id}", [this](RouteContext& c) { return get_generation(c); });
  r.add(http::verb::get, "/api/generations/{id}/memories", [this](RouteContext& c) { return generation_memories(c); });
  r.add(http::verb::post, "/api/generations/{id}/stop", [this](RouteContext& c) { return stop_generation(c); });
}

asio::awaitable<Reply> ChatRoutes::list(RouteContext& c) {
  auto character = query_int(c, "character_id", 0, 0, INT64_MAX);
  if (!character.ok()) co_return reply_error(c, character.error());
  auto after = query_int(c, "after", 0, 0, INT64_MAX);
  if (!after.ok()) co_return reply_error(c, after.error());
  auto limit = query_int(c, "limit", 50, 1, 200);
  if (!limit.ok()) co_return reply_error(c, limit.error());
  auto chats = co_await s_.chats.list(c.user, *character, *after, static_cast<int>(*limit));
  if (!chats.ok()) co_return reply_error(c, chats.error());
  json::array arr;
  for (auto& v : *chats) arr.push_back(to_json(v));
  json::value next = nullptr;
  if (static_cast<std::int64_t>(chats->size()) == *limit) next = chats->back().chat.id;
  co_return reply_json(c, http::status::ok, json::object{{"chats", std::move(arr)}, {"next_after", next}});
}

asio::awaitable<Reply> ChatRoutes::create(RouteContext& c) {
  auto body = read_object(c);
  if (auto* r = std::get_if<Reply>(&body)) co_return std::move(*r);
  auto& o = std::get<json::object>(body);
  for (auto& kv : o) {
    if (kv.key() != "character_id" && kv.key() != "persona_id" && kv.key() != "title") {
      co_return reply_error(c, make_error(Errc::bad_request, "unknown field '" + std::string(kv.key()) + "'"));
    }
  }
  auto character = get_int(o, "character_id", true);
  if (!character.ok()) co_return reply_error(c, character.error());
  auto persona = get_int(o, "persona_id", false);
  if (!persona.ok()) co_return reply_error(c, persona.error());
  auto title = get_string(o, "title", false);
  if (!title.ok()) co_return reply_error(c, title.error());
  auto chat = co_await s_.chats.create(c.user, *character, *persona, std::move(title).value());
  if (!chat.ok()) co_return reply_error(c, chat.error());
  co_return reply_json(c, http::status::created, to_json(*chat));
}

asio::awaitable<Reply> ChatRoutes::get(RouteContext& c) {
  auto chat = co_await s_.chats.get(c.user, c.id());
  if (!chat.ok()) co_return reply_error(c, chat.error());
  co_return reply_json(c, http::status::ok, to_json(*chat));
}

asio::awaitable<Reply> ChatRoutes::remove(RouteContext& c) {
  auto s = co_await s_.chats.remove(c.user, c.id());
  if (!s.ok()) co_return reply_error(c, s.error());
  co_return reply_no_content(c);
}

asio::awaitable<Reply> ChatRoutes::messages(RouteContext& c) {
  auto before = query_int(c, "before", 0, 0, INT64_MAX);
  if (!before.ok()) co_return reply_error(c, before.error());
  auto limit = query_int(c, "limit", 50, 1, 200);
  if (!limit.ok()) co_return reply_error(c, limit.error());
  auto page = co_await s_.chats.messages(c.user, c.id(), *before, static_cast<int>(*limit));
  if (!page.ok()) co_return reply_error(c, page.error());
  json::array arr;
  for (auto& m : page->messages) arr.push_back(to_json(m));
  json::value next = page->next_before ? json::value(page->next_before) : json::value(nullptr);
  co_return reply_json(c, http::status::ok, json::object{{"messages", std::move(arr)}, {"next_before", next}});
}

asio::awaitable<Reply> ChatRoutes::memories(RouteContext& c) {
  auto limit = query_int(c, "limit", 20, 1, 200);
  if (!limit.ok()) co_return reply_error(c, limit.error());
  auto found = co_await s_.chats.memories(c.user, c.id(), c.query("query"), static_cast<int>(*limit));
  if (!found.ok()) co_return reply_error(c, found.error());
  json::array arr;
  for (auto& m : found->items) {
    arr.push_back(json::object{{"id", m.memory_id},
                               {"message_id", m.message_id},
                               {"chat_id", m.chat_id},
                               {"speaker", m.speaker},
                               {"text", m.text},
                               {"created_at", m.created_at},
                               {"relevance", m.relevance},
                               {"recency", m.recency},
                               {"importance", m.importance},
                               {"score", m.score},
                               {"in_window", m.in_window}});
  }
  Reply r = reply_json(c, http::status::ok,
                       json::object{{"retrieval_mode", found->mode}, {"memories", std::move(arr)}});
  if (found->mode == "keyword") r.res.set("X-Query-Mode", "fallback");
  co_return r;
}

asio::awaitable<Reply> ChatRoutes::post_message(RouteContext& c) {
  auto body = read_object(c);
  if (auto* r = std::get_if<Reply>(&body)) co_return std::move(*r);
  auto& o = std::get<json::object>(body);
  for (auto& kv : o) {
    if (kv.key() != "content") {
      co_return reply_error(c, make_error(Errc::bad_request, "unknown field '" + std::string(kv.key()) + "'"));
    }
  }
  auto content = get_string(o, "content", true);
  if (!content.ok()) co_return reply_error(c, content.error());
  std::string key(c.req["Idempotency-Key"]);
  auto turn = co_await s_.turns.post_message(c.user, c.id(), std::move(content).value(), key);
  if (!turn.ok()) co_return reply_error(c, turn.error());
  Reply r = reply_json_text(c, http::status::accepted, turn_json(*turn));
  if (turn->replayed) r.res.set("Idempotent-Replayed", "true");
  co_return r;
}

asio::awaitable<Reply> ChatRoutes::generate(RouteContext& c) {
  auto body = read_object(c);
  if (auto* r = std::get_if<Reply>(&body)) co_return std::move(*r);
  auto& o = std::get<json::object>(body);
  for (auto& kv : o) {
    if (kv.key() != "kind" && kv.key() != "message_id") {
      co_return reply_error(c, make_error(Errc::bad_request, "unknown field '" + std::string(kv.key()) + "'"));
    }
  }
  auto kind = get_string(o, "kind", true);
  if (!kind.ok()) co_return reply_error(c, kind.error());
  auto message = get_int(o, "message_id", false);
  if (!message.ok()) co_return reply_error(c, message.error());
  auto turn = co_await s_.turns.start_generation(c.user, c.id(), std::move(kind).value(), *message);
  if (!turn.ok()) co_return reply_error(c, turn.error());
  co_return reply_json_text(c, http::status::accepted, turn_json(*turn));
}

asio::awaitable<Reply> ChatRoutes::events(RouteContext& c) {
  auto after = query_int(c, "after_seq", -1, 0, INT64_MAX);
  if (!after.ok()) co_return reply_error(c, after.error());
  std::int64_t after_seq = *after;
  if (after_seq < 0) {
    auto last_id = c.req["Last-Event-ID"];
    after_seq = 0;
    if (!last_id.empty()) {
      auto [p, ec] = std::from_chars(last_id.data(), last_id.data() + last_id.size(), after_seq);
      if (ec != std::errc() || p != last_id.data() + last_id.size() || after_seq < 0) {
        co_return reply_error(c, make_error(Errc::bad_request, "Last-Event-ID must be a sequence number"));
      }
    } else {
      // Without a position, start from now.
      auto chat = co_await s_.chats.get(c.user, c.id());
      if (!chat.ok()) co_return reply_error(c, chat.error());
      after_seq = chat->last_seq;
    }
  }
  auto sub = co_await s_.chats.subscribe(c.user, c.id(), after_seq);
  if (!sub.ok()) co_return reply_error(c, sub.error());
  Reply r;
  r.res.result(http::status::ok);
  r.res.version(c.req.version());
  r.res.keep_alive(false);
  r.res.set(http::field::content_type, "text/event-stream");
  r.res.set(http::field::cache_control, "no-store");
  r.res.set("X-Accel-Buffering", "no");
  r.sse = std::move(sub).value();
  co_return r;
}

asio::awaitable<Reply> ChatRoutes::get_generation(RouteContext& c) {
  auto g = co_await s_.turns.get(c.user, c.id());
  if (!g.ok()) co_return reply_error(c, g.error());
  co_return reply_json(c, http::status::ok, to_json(*g));
}

asio::awaitable<Reply> ChatRoutes::generation_memories(RouteContext& c) {
  auto used = co_await s_.turns.used_memories(c.user, c.id());
  if (!used.ok()) co_return reply_error(c, used.error());
  json::array arr;
  for (auto& m : used->items) {
    arr.push_back(json::object{{"rank", m.rank},
                               {"id", m.memory_id},
                               {"message_id", m.message_id},
                               {"chat_id", m.chat_id},
                               {"speaker", m.speaker},
                               {"text", m.text},
                               {"created_at", m.created_at},
                               {"relevance", m.relevance},
                               {"recency", m.recency},
                               {"importance", m.importance},
                               {"score", m.score}});
  }
  json::value mode = used->mode.empty() ? json::value(nullptr) : json::value(used->mode);
  co_return reply_json(c, http::status::ok,
                       json::object{{"generation_id", c.id()}, {"retrieval_mode", mode}, {"memories", std::move(arr)}});
}

asio::awaitable<Reply> ChatRoutes::stop_generation(RouteContext& c) {
  auto g = co_await s_.turns.stop(c.user, c.id());
  if (!g.ok()) co_return reply_error(c, g.error());
  co_return reply_json(c, http::status::accepted, to_json(*g));
}

}  // namespace troupe::api
