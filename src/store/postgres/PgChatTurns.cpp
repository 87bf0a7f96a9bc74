// PgChatStore, part two: turns and generations.
#include <algorithm>
#include <optional>
#include <string>

#include "store/TurnSteps.h"
#include "store/postgres/PgChatStore.h"
#include "store/postgres/PgDb.h"
#include "store/postgres/PgMessageTree.h"
#include "store/postgres/PgRows.h"

namespace troupe::store::postgres {
namespace {

Result<Generation> insert_generation(PgConnection& c, Generation g) {
  // With a reserved id ($10) the row takes it; 0: the identity sequence gives one.
  auto r = c.query(
      "INSERT INTO generations(id, chat_id, user_id, message_id, kind, status, error, backend, "
      "started_at, finished_at) VALUES(COALESCE(NULLIF($10::bigint, 0), "
      "nextval(pg_get_serial_sequence('generations', 'id'))), $1, $2, $3, $4, $5, $6, $7, $8, $9) "
      "RETURNING id",
      {g.chat_id, g.user_id, g.message_id, g.kind, g.status, g.error, g.backend, g.started_at,
       g.finished_at, g.id});
  if (!r.ok()) return r.error();
  g.id = r->col_int(0, 0);
  return g;
}

// The ids a new turn's rows will take, drawn from the tables' identity sequences in one round
// trip (the two message ids sorted: the user's message is the older).
Result<TurnIds> reserve_turn_ids(PgConnection& c) {
  auto r = c.query(
      "SELECT nextval(pg_get_serial_sequence('messages', 'id')), "
      "nextval(pg_get_serial_sequence('messages', 'id')), "
      "nextval(pg_get_serial_sequence('generations', 'id'))");
  if (!r.ok()) return r.error();
  TurnIds ids;
  ids.user_message = std::min(r->col_int(0, 0), r->col_int(0, 1));
  ids.reply = std::max(r->col_int(0, 0), r->col_int(0, 1));
  ids.generation = r->col_int(0, 2);
  return ids;
}

Status set_generation_message(PgConnection& c, Id generation_id, Id message_id) {
  auto r = c.query("UPDATE generations SET message_id = $2 WHERE id = $1",
                   {generation_id, message_id});
  if (!r.ok()) return r.error();
  return {};
}

// The store's side of TurnSteps (on the writer's connection, inside its transaction).
struct Steps {
  PgConnection& c;
  PgMessageTree tree;
  std::int64_t now;
  Steps(PgConnection& conn, std::int64_t now_ms) : c(conn), tree(conn, now_ms), now(now_ms) {}
  Result<Id> running_generation(Id chat_id) { return postgres::running_generation(c, chat_id); }
  Result<Generation> insert_generation(Generation g) { return postgres::insert_generation(c, std::move(g)); }
  Status set_generation_message(Id g, Id m) { return postgres::set_generation_message(c, g, m); }
  Result<TurnIds> reserve_turn_ids() { return postgres::reserve_turn_ids(c); }
  Result<Message> load_message(Id id) { return load_message_any(c, id); }
  Status fill_swipe(Message& m) { return postgres::fill_swipe(c, m); }
  Status mark_streaming(Id message_id, Id generation_id) {
    auto r = c.query(
        "UPDATE messages SET status = 'streaming', generation_id = $2, updated_at = $3 WHERE id = $1",
        {message_id, generation_id, now});
    if (!r.ok()) return r.error();
    return {};
  }
};

// A missing row behind an idempotency key: the key was used, its messages are gone.
Error orphaned_or(const Error& e) {
  return e.code == Errc::not_found ? idempotency_key_orphaned() : e;
}

// The turn an idempotency key produced earlier (any chat of the user); nullopt when it is new.
Result<std::optional<Turn>> lookup_turn(PgConnection& c, Id user_id, const std::string& key,
                                        std::int64_t now) {
  auto r = c.query(
      "SELECT chat_id, user_message_id, generation_id FROM idempotency "
      "WHERE user_id = $1 AND key = $2 AND created_at > $3",
      {user_id, key, now - kIdempotencyTtlMs});
  if (!r.ok()) return r.error();
  if (r->empty()) return std::optional<Turn>();
  const Id user_message_id = r->col_int(0, 1);
  const Id generation_id = r->col_int(0, 2);
  Turn t;
  t.replayed = true;
  auto gen = load_generation(c, generation_id);
  if (!gen.ok()) return orphaned_or(gen.error());
  auto user = load_message_any(c, user_message_id);
  if (!user.ok()) return orphaned_or(user.error());
  t.generation = std::move(*gen);
  t.user_message = std::move(*user);
  auto reply = load_message_any(c, t.generation.message_id);
  if (!reply.ok()) return orphaned_or(reply.error());
  t.reply = std::move(*reply);
  TROUPE_TRY_STATUS(fill_swipe(c, t.user_message));
  TROUPE_TRY_STATUS(fill_swipe(c, t.reply));
  return std::optional<Turn>(std::move(t));
}

}  // namespace

Result<Turn> PgChatStore::begin_turn(Id user_id, Id chat_id, const std::string& content,
                                     const std::string& idempotency_key,
                                     const std::string& backend) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<Turn> {
    if (!idempotency_key.empty()) {
      auto earlier = lookup_turn(c, user_id, idempotency_key, now);
      if (!earlier.ok()) return earlier.error();
      if (*earlier) return replay_turn(std::move(**earlier), chat_id);
    }
    auto owned = load_chat(c, user_id, chat_id);
    if (!owned.ok()) return owned.error();
    auto chat = lock_chat(c, chat_id);
    if (!chat.ok()) return chat.error();
    if (!idempotency_key.empty()) {
      // Look again under the lock: a concurrent request with the same key may have committed.
      auto earlier = lookup_turn(c, user_id, idempotency_key, now);
      if (!earlier.ok()) return earlier.error();
      if (*earlier) return replay_turn(std::move(**earlier), chat_id);
    }
    Steps steps(c, now);
    auto t = write_turn(steps, user_id, *chat, content, backend, now);
    if (!t.ok()) return t;

    if (!idempotency_key.empty()) {
      auto expired = c.query("DELETE FROM idempotency WHERE user_id = $1 AND created_at <= $2",
                             {user_id, now - kIdempotencyTtlMs});
      if (!expired.ok()) return expired.error();
      // Another chat's request with the same key may commit first: unique violation -> conflict.
      auto r = c.query(
          "INSERT INTO idempotency(user_id, key, chat_id, user_message_id, generation_id, "
          "created_at) VALUES($1, $2, $3, $4, $5, $6)",
          {user_id, idempotency_key, chat_id, t->user_message.id, t->generation.id, now});
      if (!r.ok()) return r.error();
    }
    return t;
  });
}

Result<std::optional<Turn>> PgChatStore::find_turn(Id user_id, const std::string& key) {
  if (key.empty()) return std::optional<Turn>();
  const std::int64_t now = clock_.now_ms();
  return db_.snapshot([&](PgConnection& c) { return lookup_turn(c, user_id, key, now); });
}

Result<Turn> PgChatStore::begin_generation(Id user_id, Id chat_id, const std::string& kind,
                                           Id target_id, const std::string& backend) {
  if (kind != "regenerate" && kind != "continue") {
    return make_error(Errc::bad_request, "generation kind must be regenerate or continue");
  }
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<Turn> {
    auto owned = load_chat(c, user_id, chat_id);
    if (!owned.ok()) return owned.error();
    auto chat = lock_chat(c, chat_id);
    if (!chat.ok()) return chat.error();
    Steps steps(c, now);
    return write_generation(steps, user_id, chat_id, kind, target_id, backend, now);
  });
}

Status PgChatStore::save_partial(Id message_id, const std::string& content) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Status {
    auto r = c.query(
        "UPDATE messages SET content = $2, updated_at = $3 WHERE id = $1 AND status = 'streaming'",
        {message_id, content, now});
    if (!r.ok()) return r.error();
    if (r->affected() != 0) return {};
    auto m = load_message_any(c, message_id);
    if (!m.ok()) return m.error();
    return make_error(Errc::conflict, "message is not being generated");
  });
}

Status PgChatStore::finish_generation(Id generation_id, const std::string& status,
                                      const std::string& content, const std::string& error) {
  if (!is_final_generation_status(status)) return make_error(Errc::bad_request, "bad generation status");
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Status {
    auto first = load_generation(c, generation_id);
    if (!first.ok()) return first.error();
    auto chat = lock_chat(c, first->chat_id);
    if (!chat.ok()) return chat.error();
    auto g = load_generation(c, generation_id);  // under the lock: finished meanwhile?
    if (!g.ok()) return g.error();
    if (g->status != "running") return make_error(Errc::conflict, "generation already finished");
    auto msg = c.query("UPDATE messages SET content = $2, status = $3, updated_at = $4 "
                       "WHERE id = $1",
                       {g->message_id, content, status, now});
    if (!msg.ok()) return msg.error();
    auto gen = c.query("UPDATE generations SET status = $2, error = $3, finished_at = $4 "
                       "WHERE id = $1",
                       {generation_id, status, error, now});
    if (!gen.ok()) return gen.error();
    auto touch = c.query("UPDATE chats SET updated_at = $2 WHERE id = $1", {g->chat_id, now});
    if (!touch.ok()) return touch.error();
    return {};
  });
}

Result<Generation> PgChatStore::get_generation(Id user_id, Id id) {
  return db_.read([&](PgConnection& c) -> Result<Generation> {
    auto g = load_generation(c, id);
    if (!g.ok()) return g;
    if (g->user_id != user_id) return make_error(Errc::not_found, "generation not found");
    return g;
  });
}

Result<int> PgChatStore::interrupt_running() {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<int> {
    auto msg = c.query(
        "UPDATE messages SET status = 'interrupted', updated_at = $1 WHERE status = 'streaming' "
        "AND id IN (SELECT message_id FROM generations WHERE status = 'running')",
        {now});
    if (!msg.ok()) return msg.error();
    auto gen = c.query(
        "UPDATE generations SET status = 'interrupted', finished_at = $1 WHERE status = 'running'",
        {now});
    if (!gen.ok()) return gen.error();
    return static_cast<int>(gen->affected());
  });
}

}  // namespace troupe::store::postgres
