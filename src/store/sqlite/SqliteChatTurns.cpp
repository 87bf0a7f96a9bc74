// SqliteChatStore, part two: turns and generations.
#include <optional>
#include <string>

#include "store/EarlyFinish.h"
#include "store/TurnSteps.h"
#include "store/sqlite/ChatRows.h"
#include "store/sqlite/MessageTree.h"
#include "store/sqlite/SqliteChatStore.h"
#include "store/sqlite/SqliteDb.h"

namespace troupe::store::sqlite {
namespace {

Result<Generation> insert_generation(Connection& c, Generation g) {
  // ?10 is the id when the caller reserved one; 0 becomes NULL, and SQLite assigns the id.
  auto st = c.prepare(
      "INSERT INTO generations(id, chat_id, user_id, message_id, kind, status, error, backend, "
      "started_at, finished_at) VALUES(NULLIF(?10, 0), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!st.ok()) return st.error();
  st->bind_int(1, g.chat_id).bind_int(2, g.user_id).bind_int(3, g.message_id);
  st->bind_text(4, g.kind).bind_text(5, g.status).bind_text(6, g.error).bind_text(7, g.backend);
  st->bind_int(8, g.started_at).bind_int(9, g.finished_at).bind_int(10, g.id);
  TROUPE_TRY_STATUS(st->run());
  g.id = c.last_insert_id();
  return g;
}

// The ids a new turn's rows will take. Both tables are AUTOINCREMENT: sqlite_sequence holds the
// largest id each has ever used (no row yet: none), and the next id is one past it. The writer's
// transaction holds the write lock, so nothing else inserts meanwhile; an id taken all the same
// (sqlite_sequence edited by hand) fails the insert as a conflict and writes nothing.
Result<TurnIds> reserve_turn_ids(Connection& c) {
  auto st = c.prepare(
      "SELECT max(CASE name WHEN 'messages' THEN seq END), "
      "max(CASE name WHEN 'generations' THEN seq END) FROM sqlite_sequence");
  if (!st.ok()) return st.error();
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return TurnIds{};
  TurnIds ids;
  ids.user_message = st->col_int(0) + 1;
  ids.reply = ids.user_message + 1;
  ids.generation = st->col_int(1) + 1;
  return ids;
}

Status set_generation_message(Connection& c, Id generation_id, Id message_id) {
  auto st = c.prepare("UPDATE generations SET message_id = ?2 WHERE id = ?1");
  if (!st.ok()) return st.error();
  st->bind_int(1, generation_id).bind_int(2, message_id);
  return st->run();
}

// The store's side of TurnSteps (on the writer's connection, inside its transaction).
struct Steps {
  Connection& c;
  MessageTree tree;
  std::int64_t now;
  Steps(Connection& conn, std::int64_t now_ms) : c(conn), tree(conn, now_ms), now(now_ms) {}
  Result<Id> running_generation(Id chat_id) { return sqlite::running_generation(c, chat_id); }
  Result<Generation> insert_generation(Generation g) { return sqlite::insert_generation(c, std::move(g)); }
  Status set_generation_message(Id g, Id m) { return sqlite::set_generation_message(c, g, m); }
  Result<TurnIds> reserve_turn_ids() { return sqlite::reserve_turn_ids(c); }
  Result<Message> load_message(Id id) { return load_message_any(c, id); }
  Status fill_swipe(Message& m) { return sqlite::fill_swipe(c, m); }
  Status mark_streaming(Id message_id, Id generation_id) {
    auto st = c.prepare(
        "UPDATE messages SET status = 'streaming', generation_id = ?2, updated_at = ?3 WHERE id = ?1");
    if (!st.ok()) return st.error();
    st->bind_int(1, message_id).bind_int(2, generation_id).bind_int(3, now);
    return st->run();
  }
};

// The turn an idempotency key produced earlier (any chat of the user); nullopt when it is new.
Result<std::optional<Turn>> lookup_turn(Connection& c, Id user_id, const std::string& key,
                                        std::int64_t now) {
  auto st = c.prepare(
      "SELECT chat_id, user_message_id, generation_id FROM idempotency "
      "WHERE user_id = ?1 AND key = ?2 AND created_at > ?3");
  if (!st.ok()) return st.error();
  st->bind_int(1, user_id).bind_text(2, key).bind_int(3, now - kIdempotencyTtlMs);
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<Turn>();
  const Id user_message_id = st->col_int(1);
  const Id generation_id = st->col_int(2);
  Turn t;
  t.replayed = true;
  auto gen = load_generation(c, generation_id);
  auto user = load_message_any(c, user_message_id);
  if (!gen.ok() || !user.ok()) return idempotency_key_orphaned();
  t.generation = std::move(*gen);
  t.user_message = std::move(*user);
  auto reply = load_message_any(c, t.generation.message_id);
  if (!reply.ok()) return idempotency_key_orphaned();
  t.reply = std::move(*reply);
  TROUPE_TRY_STATUS(fill_swipe(c, t.user_message));
  TROUPE_TRY_STATUS(fill_swipe(c, t.reply));
  return std::optional<Turn>(std::move(t));
}

// begin_turn's transaction (on the writer's connection). With `early`, a reply that has already
// ended is written finished with the turn, when its prompt followed the path the turn goes on.
Result<Turn> run_begin_turn(Connection& c, Id user_id, Id chat_id, const std::string& content,
                            const std::string& idempotency_key, const std::string& backend,
                            std::int64_t now, EarlyFinish* early = nullptr) {
  if (!idempotency_key.empty()) {
    auto earlier = lookup_turn(c, user_id, idempotency_key, now);
    if (!earlier.ok()) return earlier.error();
    if (*earlier) return replay_turn(std::move(**earlier), chat_id);
  }
  auto chat = load_chat(c, user_id, chat_id);
  if (!chat.ok()) return chat.error();
  // (take() closes the handoff either way: a later offer is the generation's own to store.)
  const EarlyFinish::State* final = early ? early->take() : nullptr;
  if (final && chat->leaf_id != early->expected_parent()) final = nullptr;
  Steps steps(c, now);
  auto t = write_turn(steps, user_id, *chat, content, backend, now, final);
  if (!t.ok()) return t;
  if (final) early->mark_stored();  // (kept only if this savepoint and its group commit)

  if (!idempotency_key.empty()) {
    auto expired = c.prepare("DELETE FROM idempotency WHERE user_id = ?1 AND created_at <= ?2");
    if (!expired.ok()) return expired.error();
    expired->bind_int(1, user_id).bind_int(2, now - kIdempotencyTtlMs);
    TROUPE_TRY_STATUS(expired->run());
    auto st = c.prepare(
        "INSERT INTO idempotency(user_id, key, chat_id, user_message_id, generation_id, "
        "created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st.ok()) return st.error();
    st->bind_int(1, user_id).bind_text(2, idempotency_key).bind_int(3, chat_id);
    st->bind_int(4, t->user_message.id).bind_int(5, t->generation.id).bind_int(6, now);
    TROUPE_TRY_STATUS(st->run());
  }
  return t;
}

// finish_generation's transaction (on the writer's connection).
Status run_finish_generation(Connection& c, Id generation_id, const std::string& status,
                             const std::string& content, const std::string& error,
                             std::int64_t now) {
  auto g = load_generation(c, generation_id);
  if (!g.ok()) return g.error();
  if (g->status != "running") return make_error(Errc::conflict, "generation already finished");
  auto msg = c.prepare(
      "UPDATE messages SET content = ?2, status = ?3, updated_at = ?4 WHERE id = ?1");
  if (!msg.ok()) return msg.error();
  msg->bind_int(1, g->message_id).bind_text(2, content).bind_text(3, status).bind_int(4, now);
  TROUPE_TRY_STATUS(msg->run());
  auto gen = c.prepare(
      "UPDATE generations SET status = ?2, error = ?3, finished_at = ?4 WHERE id = ?1");
  if (!gen.ok()) return gen.error();
  gen->bind_int(1, generation_id).bind_text(2, status).bind_text(3, error).bind_int(4, now);
  TROUPE_TRY_STATUS(gen->run());
  auto chat = c.prepare("UPDATE chats SET updated_at = ?2 WHERE id = ?1");
  if (!chat.ok()) return chat.error();
  chat->bind_int(1, g->chat_id).bind_int(2, now);
  return chat->run();
}

}  // namespace

Result<Turn> SqliteChatStore::begin_turn(Id user_id, Id chat_id, const std::string& content,
                                         const std::string& idempotency_key,
                                         const std::string& backend) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) {
    return run_begin_turn(c, user_id, chat_id, content, idempotency_key, backend, now);
  });
}

void SqliteChatStore::begin_turn_async(Id user_id, Id chat_id, std::string content,
                                       std::string idempotency_key, std::string backend,
                                       std::function<void(Result<Turn>)> done,
                                       std::shared_ptr<EarlyFinish> early) {
  const std::int64_t now = clock_.now_ms();
  db_.write_async(
      [=, content = std::move(content), key = std::move(idempotency_key),
       backend = std::move(backend), early = std::move(early)](Connection& c) -> Result<Turn> {
        return run_begin_turn(c, user_id, chat_id, content, key, backend, now, early.get());
      },
      std::move(done));
}

Result<std::optional<Turn>> SqliteChatStore::find_turn(Id user_id, const std::string& key) {
  if (key.empty()) return std::optional<Turn>();
  const std::int64_t now = clock_.now_ms();
  return db_.snapshot([&](Connection& c) { return lookup_turn(c, user_id, key, now); });
}

Result<Turn> SqliteChatStore::begin_generation(Id user_id, Id chat_id, const std::string& kind,
                                               Id target_id, const std::string& backend) {
  if (kind != "regenerate" && kind != "continue") {
    return make_error(Errc::bad_request, "generation kind must be regenerate or continue");
  }
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<Turn> {
    auto chat = load_chat(c, user_id, chat_id);
    if (!chat.ok()) return chat.error();
    Steps steps(c, now);
    return write_generation(steps, user_id, chat_id, kind, target_id, backend, now);
  });
}

Status SqliteChatStore::save_partial(Id message_id, const std::string& content) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Status {
    auto st = c.prepare(
        "UPDATE messages SET content = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'streaming'");
    if (!st.ok()) return st.error();
    st->bind_int(1, message_id).bind_text(2, content).bind_int(3, now);
    TROUPE_TRY_STATUS(st->run());
    if (c.changes() != 0) return {};
    auto m = load_message_any(c, message_id);
    if (!m.ok()) return m.error();
    return make_error(Errc::conflict, "message is not being generated");
  });
}

Status SqliteChatStore::finish_generation(Id generation_id, const std::string& status,
                                          const std::string& content, const std::string& error) {
  if (!is_final_generation_status(status)) return make_error(Errc::bad_request, "bad generation status");
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) {
    return run_finish_generation(c, generation_id, status, content, error, now);
  });
}

void SqliteChatStore::finish_generation_async(Id generation_id, std::string status,
                                              std::string content, std::string error,
                                              std::function<void(Status)> done) {
  if (!is_final_generation_status(status)) {
    done(make_error(Errc::bad_request, "bad generation status"));
    return;
  }
  const std::int64_t now = clock_.now_ms();
  db_.write_async(
      [=, status = std::move(status), content = std::move(content),
       error = std::move(error)](Connection& c) {
        return run_finish_generation(c, generation_id, status, content, error, now);
      },
      std::move(done));
}

Result<Generation> SqliteChatStore::get_generation(Id user_id, Id id) {
  return db_.read([&](Connection& c) -> Result<Generation> {
    auto g = load_generation(c, id);
    if (!g.ok()) return g;
    if (g->user_id != user_id) return make_error(Errc::not_found, "generation not found");
    return g;
  });
}

Result<int> SqliteChatStore::interrupt_running() {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<int> {
    auto msg = c.prepare(
        "UPDATE messages SET status = 'interrupted', updated_at = ?1 WHERE status = 'streaming' "
        "AND id IN (SELECT message_id FROM generations WHERE status = 'running')");
    if (!msg.ok()) return msg.error();
    msg->bind_int(1, now);
    TROUPE_TRY_STATUS(msg->run());
    auto gen = c.prepare(
        "UPDATE generations SET status = 'interrupted', finished_at = ?1 WHERE status = 'running'");
    if (!gen.ok()) return gen.error();
    gen->bind_int(1, now);
    TROUPE_TRY_STATUS(gen->run());
    return c.changes();
  });
}

}  // namespace troupe::store::sqlite
