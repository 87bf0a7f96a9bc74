#include "store/postgres/PgChatStore.h"

#include <algorithm>
#include <limits>
#include <string>

#include "store/PathQueries.h"
#include "store/postgres/PgDb.h"
#include "store/postgres/PgMessageTree.h"
#include "store/postgres/PgRows.h"

namespace troupe::store::postgres {
namespace {

Status owned(PgConnection& c, const char* sql, Id user_id, Id id, const char* what) {
  auto r = c.query(sql, {id, user_id});
  if (!r.ok()) return r.error();
  if (r->empty()) return make_error(Errc::not_found, what);
  return {};
}

// The user's message `id`, re-read after taking its chat's lock (it may have changed meanwhile).
Result<Message> load_message_locked(PgConnection& c, Id user_id, Id id) {
  auto m = load_message(c, user_id, id);
  if (!m.ok()) return m;
  auto chat = lock_chat(c, m->chat_id);
  if (!chat.ok()) return chat.error();
  return load_message(c, user_id, id);
}

}  // namespace

Result<Chat> PgChatStore::create_chat(const Chat& in, const std::vector<std::string>& greetings) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<Chat> {
    TROUPE_TRY_STATUS(owned(c, "SELECT 1 FROM characters WHERE id = $1 AND user_id = $2",
                            in.user_id, in.character_id, "character not found"));
    if (in.persona_id != 0) {
      TROUPE_TRY_STATUS(owned(c, "SELECT 1 FROM personas WHERE id = $1 AND user_id = $2",
                              in.user_id, in.persona_id, "persona not found"));
    }
    auto r = c.query(
        "INSERT INTO chats(user_id, character_id, persona_id, title, created_at, updated_at, seq_reserved) "
        "VALUES($1, $2, $3, $4, $5, $5, $6) RETURNING id",
        {in.user_id, in.character_id,
         in.persona_id != 0 ? PgParam(in.persona_id) : PgParam::null(), in.title, now,
         std::max<std::int64_t>(in.seq_reserved, 0)});
    if (!r.ok()) return r.error();
    const Id chat_id = r->col_int(0, 0);
    PgMessageTree tree(c, now);
    Id first = 0;
    for (const std::string& g : greetings) {
      Message m;
      m.chat_id = chat_id;
      m.role = "assistant";
      m.content = g;
      auto ins = tree.insert(std::move(m));
      if (!ins.ok()) return ins.error();
      if (first == 0) first = ins->id;
    }
    if (first != 0) {
      TROUPE_TRY_STATUS(tree.set_active_child(chat_id, 0, first));
      TROUPE_TRY_STATUS(tree.set_leaf(chat_id, first));
    }
    return load_chat_any(c, chat_id);
  });
}

Result<Chat> PgChatStore::get_chat(Id user_id, Id id) {
  return db_.read([&](PgConnection& c) { return load_chat(c, user_id, id); });
}

Result<std::vector<Chat>> PgChatStore::list_chats(Id user_id, Id character_id, Id after_id,
                                                  int limit) {
  static const std::string sql = std::string("SELECT ") + kChatColumns +
                                 " FROM chats c WHERE c.user_id = $1 AND c.id > $2 AND "
                                 "($4::bigint = 0 OR c.character_id = $4) ORDER BY c.id LIMIT $3";
  limit = std::clamp(limit, 1, 200);
  return db_.read([&](PgConnection& c) -> Result<std::vector<Chat>> {
    auto r = c.query(sql, {user_id, after_id, limit, character_id});
    if (!r.ok()) return r.error();
    std::vector<Chat> out;
    for (int row = 0; row < r->rows(); ++row) out.push_back(read_chat(*r, row));
    return out;
  });
}

Status PgChatStore::delete_chat(Id user_id, Id id) {
  return db_.write([&](PgConnection& c) -> Status {
    auto r = c.query("DELETE FROM chats WHERE id = $1 AND user_id = $2", {id, user_id});
    if (!r.ok()) return r.error();
    if (r->affected() == 0) return make_error(Errc::not_found, "chat not found");
    return {};
  });
}

Result<PathPage> PgChatStore::path_page(Id chat_id, Id before, int limit) {
  return db_.snapshot([&](PgConnection& c) { return path_page_in<PgMessageTree>(c, chat_id, before, limit); });
}

Result<std::vector<Message>> PgChatStore::path_to(Id chat_id, Id until, int max_messages) {
  return db_.snapshot([&](PgConnection& c) { return path_to_in<PgMessageTree>(c, chat_id, until, max_messages); });
}

Result<std::vector<Message>> PgChatStore::path_tail(
    Id chat_id, Id until, int max_messages, const std::function<bool(const Message&)>& enough) {
  if (max_messages <= 0) return make_error(Errc::bad_request, "max_messages must be positive");
  // Walks up in chunks (one recursive query each) so a prompt costs a round trip or two, not one
  // per message, and stops at the first chunk in which `enough` is satisfied.
  constexpr int kChunk = 64;
  return db_.snapshot([&](PgConnection& c) -> Result<std::vector<Message>> {
    Id start = until;
    if (start == 0) {
      auto chat = load_chat_any(c, chat_id);
      if (!chat.ok()) return chat.error();
      start = chat->leaf_id;
    } else {
      auto u = load_message_any(c, start);
      if (!u.ok()) return u.error();
      if (u->chat_id != chat_id) return make_error(Errc::not_found, "message not found");
    }
    std::vector<Message> newest_first;
    while (start != 0 && static_cast<int>(newest_first.size()) < max_messages) {
      const int want = std::min(kChunk, max_messages - static_cast<int>(newest_first.size()));
      auto chunk = PgMessageTree(c, 0).walk_up(chat_id, start, want);
      if (!chunk.ok()) return chunk.error();
      if (chunk->empty()) break;
      start = chunk->front().parent_id;
      bool done = false;
      for (auto it = chunk->rbegin(); it != chunk->rend(); ++it) {
        it->swipe_index = 0;
        it->swipe_count = 1;
        newest_first.push_back(std::move(*it));
        if (enough && enough(newest_first.back())) {
          done = true;
          break;
        }
      }
      if (done) break;
    }
    std::reverse(newest_first.begin(), newest_first.end());
    return newest_first;
  });
}

Result<Message> PgChatStore::get_message(Id user_id, Id id) {
  return db_.snapshot([&](PgConnection& c) -> Result<Message> {
    auto m = load_message(c, user_id, id);
    if (!m.ok()) return m;
    TROUPE_TRY_STATUS(fill_swipe(c, *m));
    return m;
  });
}

Result<Siblings> PgChatStore::siblings(Id user_id, Id id) {
  return db_.snapshot([&](PgConnection& c) -> Result<Siblings> {
    auto m = load_message(c, user_id, id);
    if (!m.ok()) return m.error();
    Siblings out;
    out.parent_id = m->parent_id;
    if (m->parent_id == 0) {
      auto chat = load_chat_any(c, m->chat_id);
      if (!chat.ok()) return chat.error();
      out.selected_id = chat->root_active_id;
    } else {
      auto p = load_message_any(c, m->parent_id);
      if (!p.ok()) return p.error();
      out.selected_id = p->active_child_id;
    }
    auto r = c.query("SELECT id, COUNT(*) OVER () FROM messages WHERE chat_id = $1 AND "
                     "parent_id = $2 ORDER BY id LIMIT $3",
                     {m->chat_id, m->parent_id, std::int64_t{kMaxSiblingsListed}});
    if (!r.ok()) return r.error();
    for (int i = 0; i < r->rows(); ++i) {
      out.ids.push_back(r->col_int(i, 0));
      out.count = static_cast<int>(r->col_int(i, 1));
    }
    return out;
  });
}

Result<Message> PgChatStore::edit_message(Id user_id, Id id, const std::string& content) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<Message> {
    auto m = load_message_locked(c, user_id, id);
    if (!m.ok()) return m;
    if (m->status == "streaming") return make_error(Errc::conflict, "message is being generated");
    auto r = c.query("UPDATE messages SET content = $2, status = 'ok', updated_at = $3 "
                     "WHERE id = $1",
                     {id, content, now});
    if (!r.ok()) return r.error();
    auto touch = c.query("UPDATE chats SET updated_at = $2 WHERE id = $1", {m->chat_id, now});
    if (!touch.ok()) return touch.error();
    m->content = content;
    m->status = "ok";
    m->updated_at = now;
    TROUPE_TRY_STATUS(fill_swipe(c, *m));
    return m;
  });
}

Status PgChatStore::delete_message(Id user_id, Id id) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Status {
    auto m = load_message_locked(c, user_id, id);
    if (!m.ok()) return m.error();
    auto chat = load_chat_any(c, m->chat_id);
    if (!chat.ok()) return chat.error();
    PgMessageTree tree(c, now);
    auto running = running_generation(c, m->chat_id);
    if (!running.ok()) return running.error();
    if (*running != 0) {
      auto g = load_generation(c, *running);
      if (!g.ok()) return g.error();
      auto below = tree.is_ancestor_or_self(id, g->message_id);
      if (!below.ok()) return below.error();
      if (*below) return make_error(Errc::conflict, "a running generation writes this message");
    }
    return tree.erase(*m, *chat);
  });
}

Result<Chat> PgChatStore::select_message(Id user_id, Id id) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<Chat> {
    auto m = load_message_locked(c, user_id, id);
    if (!m.ok()) return m.error();
    TROUPE_TRY_STATUS(PgMessageTree(c, now).select(m->chat_id, id));
    return load_chat_any(c, m->chat_id);
  });
}

Result<Chat> PgChatStore::branch_from(Id user_id, Id id, std::int64_t seq_reserved) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<Chat> {
    auto m = load_message_locked(c, user_id, id);
    if (!m.ok()) return m.error();
    PgMessageTree tree(c, now);
    auto path = tree.walk_up(m->chat_id, id, std::numeric_limits<std::int64_t>::max());
    if (!path.ok()) return path.error();
    auto r = c.query(
        "INSERT INTO chats(user_id, character_id, persona_id, title, created_at, updated_at, seq_reserved) "
        "SELECT user_id, character_id, persona_id, title || ' (branch)', $2, $2, $3 "
        "FROM chats WHERE id = $1 RETURNING id",
        {m->chat_id, now, std::max<std::int64_t>(seq_reserved, 0)});
    if (!r.ok()) return r.error();
    if (r->empty()) return make_error(Errc::not_found, "chat not found");
    const Id branch_id = r->col_int(0, 0);
    auto last = tree.copy_chain(branch_id, *path);
    if (!last.ok()) return last.error();
    return load_chat_any(c, branch_id);
  });
}

Result<std::int64_t> PgChatStore::reserve_seq(Id chat_id, std::int64_t count) {
  if (count < 0) return make_error(Errc::bad_request, "count must not be negative");
  // One statement: the row lock makes concurrent reservations (from any node) queue up.
  return db_.write([&](PgConnection& c) -> Result<std::int64_t> {
    auto r = c.query(
        "UPDATE chats SET seq_reserved = seq_reserved + $2 WHERE id = $1 RETURNING seq_reserved",
        {chat_id, count});
    if (!r.ok()) return r.error();
    if (r->empty()) return make_error(Errc::not_found, "chat not found");
    return r->col_int(0, 0);
  });
}

}  // namespace troupe::store::postgres
