#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "Common.h"
#include "IoThread.h"
#include "Text.h"
#include "TurnFormat.h"

namespace troupe_turn_floor {

void IoThread::handle(Conn& c, const Request& r) {
  const std::string_view p = r.path;
  const bool get = r.method == "GET", post = r.method == "POST";
  if (get && p == "/healthz") return send(c, http_response(200, "{\"status\":\"ok\"}"));
  if (get && p == "/metrics") {
    std::string body;
    s_.group.render(body, "troupe_db_write_group_seconds");
    s_.wait.render(body, "troupe_db_write_wait_seconds");
    add(body, "# TYPE troupe_turn_floor_turns_total counter\ntroupe_turn_floor_turns_total ",
        s_.turns.load(), "\n");
    return send(c, http_response(200, body, false, "text/plain; version=0.0.4"));
  }
  enum { none, character, chat, events, messages } route = none;
  std::int64_t id = 0;
  if (post && p == "/api/characters") route = character;
  if (post && p == "/api/chats") route = chat;
  if (p.starts_with("/api/chats/")) {  // /api/chats/{id}/events, /api/chats/{id}/messages
    const std::string_view rest = p.substr(11),
                           tail = rest.substr(std::min(rest.find('/'), rest.size()));
    if (parse_int(rest.substr(0, rest.size() - tail.size()), id) && id > 0) {
      if (get && tail == "/events") route = events;
      if (post && tail == "/messages") route = messages;
    }
  }
  if (route == none) return fail(c, 404, "not_found", "no route for " + std::string(p));
  if (r.authorization != s_.auth)
    return fail(c, 401, "unauthorized", "missing or invalid bearer token");
  if (route == character) return create_character(c, r);
  if (route == chat) return create_chat(c, r);
  Chat* ch = s_.chat(id);
  if (!ch) return fail(c, 404, "not_found", "chat not found");
  if (route == events) return subscribe(c, r, *ch);
  return post_message(c, r, *ch);
}

// Hands a durable request to the writer (the caller holds a reservation); on_durable answers.
void IoThread::submit(Conn& c, std::unique_ptr<Pending> p) {
  p->thread = index_;
  p->fd = c.fd;
  p->conn_id = c.id;
  p->queued_ns = mono_ns();
  c.waiting = true;
  w_.submit(std::move(p));
}

void IoThread::create_character(Conn& c, const Request& r) {
  JsonObject j;
  if (!j.parse(r.body)) return fail(c, 400, "bad_request", "request body must be a JSON object");
  const std::string_view* name = j.str("name");
  if (!name || name->empty()) return fail(c, 400, "bad_request", "field 'name' is required");
  if (!w_.try_reserve()) return fail(c, 503, "unavailable", "too many writes queued");
  const std::int64_t id = ++s_.character_count;
  if (id > kMaxCharacters) return w_.release(), fail(c, 503, "unavailable", "too many characters");
  auto p = std::make_unique<Pending>();
  std::string body;
  add(body, "{\"id\":", id, ",\"name\":\"", *name, "\"}");
  add(p->record, "{\"character\":", body, "}\n");
  p->response = http_response(201, body);
  submit(c, std::move(p));
}

void IoThread::create_chat(Conn& c, const Request& r) {
  JsonObject j;
  std::int64_t character = 0;
  if (!j.parse(r.body)) return fail(c, 400, "bad_request", "request body must be a JSON object");
  if (!j.integer("character_id", character))
    return fail(c, 400, "bad_request", "field 'character_id' is required");
  if (character < 1 || character > s_.character_count.load())
    return fail(c, 404, "not_found", "character not found");
  const std::string_view* title = j.str("title");
  if (!w_.try_reserve()) return fail(c, 503, "unavailable", "too many writes queued");
  const std::int64_t id = ++s_.chat_count;
  if (id > kMaxChats) return w_.release(), fail(c, 503, "unavailable", "too many chats");
  s_.chats[static_cast<std::size_t>(id)].store(new Chat(id, character), std::memory_order_release);
  const std::int64_t ms = wall_ms();
  auto p = std::make_unique<Pending>();
  std::string body;
  add(body, "{\"id\":", id, ",\"character_id\":", character, ",\"persona_id\":0,\"title\":\"",
      title ? *title : std::string_view(), "\",\"leaf_id\":1,\"last_seq\":0,\"created_at\":", ms,
      ",\"updated_at\":", ms, ",\"generation\":null}");
  add(p->record, "{\"chat\":", body, "}\n");
  p->response = http_response(201, body);
  submit(c, std::move(p));
}

// GET /api/chats/{id}/events: what the chat still holds after after_seq (or Last-Event-ID; with
// neither: from now), then every new event until the client closes.
void IoThread::subscribe(Conn& c, const Request& r, Chat& ch) {
  std::int64_t after = -1;
  for (std::string_view q = r.query; !q.empty();) {
    const std::string_view kv = q.substr(0, q.find('&'));
    q.remove_prefix(std::min(q.size(), kv.size() + 1));
    if (kv.starts_with("after_seq=") && (!parse_int(kv.substr(10), after) || after < 0))
      return fail(c, 400, "bad_request", "after_seq must be a sequence number");
  }
  if (after < 0 && !r.last_event_id.empty() && (!parse_int(r.last_event_id, after) || after < 0))
    return fail(c, 400, "bad_request", "Last-Event-ID must be a sequence number");
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
      "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n: keep-alive\n\n";
  {
    std::lock_guard lock(ch.mu);
    if (ch.subs.size() >= kMaxSubscribers)
      return fail(c, 503, "unavailable", "too many subscribers");
    if (after < 0) after = ch.last_seq;
    if (after < ch.last_seq && ch.held && after + 1 >= ch.held_first) {
      out += std::string_view(*ch.held).substr(
          ch.held_offsets[static_cast<std::size_t>(after + 1 - ch.held_first)]);
    } else if (after < ch.last_seq) {  // what the client missed is no longer held
      begin_event(out, "resync", ch.id, ch.last_seq);
      out += "}\n\n";
    }
    ch.subs.push_back(Sub{index_, c.fd, c.id});
  }
  c.sse = &ch;
  send(c, out);
}

// POST /api/chats/{id}/messages: the turn.
void IoThread::post_message(Conn& c, const Request& r, Chat& ch) {
  JsonObject j;
  if (!j.parse(r.body)) return fail(c, 400, "bad_request", "request body must be a JSON object");
  const std::string_view* content = j.str("content");
  if (!content || content->empty())
    return fail(c, 400, "bad_request", "field 'content' is required");
  if (!w_.try_reserve()) return fail(c, 503, "unavailable", "too many writes queued");
  TurnIds t{};
  {
    std::lock_guard lock(ch.mu);
    if (!ch.running) {
      ch.running = true;
      t = TurnIds{ch.id,   ch.next_message,      ch.next_message + 1,
                  ch.leaf, ch.next_generation++, ch.reserved_seq + 1};
      ch.next_message += 2;
      ch.leaf = t.reply;
      ch.reserved_seq += s_.tokens + 4;
    }
  }
  if (t.chat == 0)
    return w_.release(), fail(c, 409, "conflict", "a generation is already running in this chat");
  auto p = std::make_unique<Pending>();
  format_turn(s_, t, *content, *p);
  p->chat = &ch;
  submit(c, std::move(p));
}

// The writer made p durable: the answer, a turn's events, then the connection's next request.
void IoThread::on_durable(Pending& p) {
  Conn* c = conn(p.fd, p.conn_id);  // gone if the client closed meanwhile
  if (c) send(*c, p.response), c->waiting = false;
  if (p.chat) publish(p);
  if (c) {
    process(*c);
    if (c->dead) close_conn(*c);
  }
}

void IoThread::publish(Pending& p) {
  Chat& ch = *p.chat;
  std::vector<Conn*> mine;
  bool first_held = false;
  {
    std::lock_guard lock(ch.mu);
    ch.running = false;
    ch.last_seq = p.last_seq;
    s_.held_bytes += p.events->size();
    if (ch.held) s_.held_bytes -= ch.held->size();
    ch.held = p.events;
    ch.held_offsets = std::move(p.offsets);
    ch.held_first = p.first_seq;
    first_held = !ch.in_held_fifo;
    ch.in_held_fifo = true;
    for (const Sub& sub : ch.subs) {
      if (sub.thread != index_) {
        s_.inboxes[static_cast<std::size_t>(sub.thread)]->post(
            Msg{Msg::Kind::deliver, sub.fd, sub.conn_id, nullptr, p.events});
      } else if (Conn* sc = conn(sub.fd, sub.conn_id)) {
        mine.push_back(sc);
      }
    }
  }
  ++s_.turns;
  for (Conn* sc : mine) {  // after the chat's lock: closing a subscriber takes it
    send(*sc, *p.events);
    if (sc->dead) close_conn(*sc);
  }
  if (first_held) {
    std::lock_guard lock(s_.held_mu);
    s_.held_fifo.push_back(&ch);
  }
  while (s_.held_bytes.load() > kHeldBudget) {
    Chat* old = nullptr;
    {
      std::lock_guard lock(s_.held_mu);
      if (s_.held_fifo.empty()) break;
      old = s_.held_fifo.front();
      s_.held_fifo.pop_front();
    }
    std::lock_guard lock(old->mu);
    if (old->held) s_.held_bytes -= old->held->size();
    old->held.reset();
    old->held_offsets.clear();
    old->in_held_fifo = false;
  }
}

}  // namespace troupe_turn_floor
