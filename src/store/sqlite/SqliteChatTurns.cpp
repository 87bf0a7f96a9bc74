// SqliteChatStore, part two: turns and generations.
#include <optional>
#include <string>

#include "store/sqlite/ChatRows.h"
#include "store/sqlite/MessageTree.h"
#include "store/sqlite/SqliteChatStore.h"
#include "store/sqlite/SqliteDb.h"

namespace troupe::store::sqlite {
namespace {

bool is_final_status(const std::string& s) {
  return s == "completed" || s == "stopped" || s == "failed" || s == "interrupted";
}

Status no_running_generation(Connection& c, Id chat_id) {
  auto running = running_generation(c, chat_id);
  if (!running.ok()) return running.error();
  if (*running != 0) return make_error(Errc::conflict, "a generation already runs in this chat");
  return {};
}

Result<Generation> insert_generation(Connection& c, Generation g) {
  auto st = c.prepare(
      "INSERT INTO generations(chat_id, user_id, message_id, kind, status, backend, started_at) "
      "VALUES(?1, ?2, ?3, ?4, 'running', ?5, ?6)");
  if (!st.ok()) return st.error();
  st->bind_int(1, g.chat_id).bind_int(2, g.user_id).bind_int(3, g.message_id);
  st->bind_text(4, g.kind).bind_text(5, g.backend).bind_int(6, g.started_at);
  TROUPE_TRY_STATUS(st->run());
  g.id = c.last_insert_id();
  g.status = "running";
  return g;
}

Status set_generation_message(Connection& c, Id generation_id, Id message_id) {
  auto st = c.prepare("UPDATE generations SET message_id = ?2 WHERE id = ?1");
  if (!st.ok()) return st.error();
  st->bind_int(1, generation_id).bind_int(2, message_id);
  return st->run();
}

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
  if (!gen.ok() || !user.ok()) {
    return make_error(Errc::conflict, "idempotency key already used (its messages were deleted)");
  }
  t.generation = std::move(*gen);
  t.user_message = std::move(*user);
  auto reply = load_message_any(c, t.generation.message_id);
  if (!reply.ok()) {
    return make_error(Errc::conflict, "idempotency key already used (its messages were deleted)");
  }
  t.reply = std::move(*reply);
  TROUPE_TRY_STATUS(fill_swipe(c, t.user_message));
  TROUPE_TRY_STATUS(fill_swipe(c, t.reply));
  return std::optional<Turn>(std::move(t));
}

// begin_turn's transaction (on the writer's connection).
Result<Turn> run_begin_turn(Connection& c, Id user_id, Id chat_id, const std::string& content,
                            const std::string& idempotency_key, const std::string& backend,
                            std::int64_t now) {
  if (!idempotency_key.empty()) {
    auto earlier = lookup_turn(c, user_id, idempotency_key, now);
    if (!earlier.ok()) return earlier.error();
    if (*earlier) {
      if ((*earlier)->user_message.chat_id != chat_id) {
        return make_error(Errc::conflict, "idempotency key already used for another chat");
      }
      return std::move(**earlier);
    }
  }
  auto chat = load_chat(c, user_id, chat_id);
  if (!chat.ok()) return chat.error();
  TROUPE_TRY_STATUS(no_running_generation(c, chat_id));
  MessageTree tree(c, now);
  Turn t;
  Message um;
  um.chat_id = chat_id;
  um.parent_id = chat->leaf_id;
  um.role = "user";
  um.content = content;
  auto user = tree.insert(std::move(um));
  if (!user.ok()) return user.error();
  t.user_message = std::move(*user);
  TROUPE_TRY_STATUS(tree.set_active_child(chat_id, chat->leaf_id, t.user_message.id));

  Generation g;
  g.chat_id = chat_id;
  g.user_id = user_id;
  g.kind = "reply";
  g.backend = backend;
  g.started_at = now;
  auto gen = insert_generation(c, std::move(g));
  if (!gen.ok()) return gen.error();
  t.generation = std::move(*gen);

  Message rm;
  rm.chat_id = chat_id;
  rm.parent_id = t.user_message.id;
  rm.role = "assistant";
  rm.status = "streaming";
  rm.generation_id = t.generation.id;
  auto reply = tree.insert(std::move(rm));
  if (!reply.ok()) return reply.error();
  t.reply = std::move(*reply);
  t.generation.message_id = t.reply.id;
  TROUPE_TRY_STATUS(set_generation_message(c, t.generation.id, t.reply.id));
  TROUPE_TRY_STATUS(tree.set_active_child(chat_id, t.user_message.id, t.reply.id));
  t.user_message.active_child_id = t.reply.id;
  TROUPE_TRY_STATUS(tree.set_leaf(chat_id, t.reply.id));
  TROUPE_TRY_STATUS(fill_swipe(c, t.user_message));

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
    st->bind_int(4, t.user_message.id).bind_int(5, t.generation.id).bind_int(6, now);
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
                                       std::function<void(Result<Turn>)> done) {
  const std::int64_t now = clock_.now_ms();
  db_.write_async(
      [=, content = std::move(content), key = std::move(idempotency_key),
       backend = std::move(backend)](Connection& c) {
        return run_begin_turn(c, user_id, chat_id, content, key, backend, now);
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
    auto target = load_message_any(c, target_id);
    if (!target.ok()) return target.error();
    if (target->chat_id != chat_id) return make_error(Errc::not_found, "message not found");
    if (kind == "continue" && target->role != "assistant") {
      return make_error(Errc::bad_request, "only an assistant message can be continued");
    }
    TROUPE_TRY_STATUS(no_running_generation(c, chat_id));
    MessageTree tree(c, now);
    Turn t;
    Generation g;
    g.chat_id = chat_id;
    g.user_id = user_id;
    g.kind = kind;
    g.backend = backend;
    g.started_at = now;
    g.message_id = kind == "continue" ? target->id : 0;
    auto gen = insert_generation(c, std::move(g));
    if (!gen.ok()) return gen.error();
    t.generation = std::move(*gen);

    if (kind == "regenerate") {
      Message rm;
      rm.chat_id = chat_id;
      rm.parent_id = target->role == "assistant" ? target->parent_id : target->id;
      rm.role = "assistant";
      rm.status = "streaming";
      rm.generation_id = t.generation.id;
      auto reply = tree.insert(std::move(rm));
      if (!reply.ok()) return reply.error();
      t.generation.message_id = reply->id;
      TROUPE_TRY_STATUS(set_generation_message(c, t.generation.id, reply->id));
    } else {
      auto st = c.prepare(
          "UPDATE messages SET status = 'streaming', generation_id = ?2, updated_at = ?3 "
          "WHERE id = ?1");
      if (!st.ok()) return st.error();
      st->bind_int(1, target->id).bind_int(2, t.generation.id).bind_int(3, now);
      TROUPE_TRY_STATUS(st->run());
    }
    TROUPE_TRY_STATUS(tree.select(chat_id, t.generation.message_id));
    auto reply = load_message_any(c, t.generation.message_id);
    if (!reply.ok()) return reply.error();
    t.reply = std::move(*reply);
    TROUPE_TRY_STATUS(fill_swipe(c, t.reply));
    if (t.reply.parent_id != 0) {
      auto parent = load_message_any(c, t.reply.parent_id);
      if (!parent.ok()) return parent.error();
      t.user_message = std::move(*parent);
      TROUPE_TRY_STATUS(fill_swipe(c, t.user_message));
    }
    return t;
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
  if (!is_final_status(status)) return make_error(Errc::bad_request, "bad generation status");
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) {
    return run_finish_generation(c, generation_id, status, content, error, now);
  });
}

void SqliteChatStore::finish_generation_async(Id generation_id, std::string status,
                                              std::string content, std::string error,
                                              std::function<void(Status)> done) {
  if (!is_final_status(status)) {
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
