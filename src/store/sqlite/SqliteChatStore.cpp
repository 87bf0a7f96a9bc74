#include "store/sqlite/SqliteChatStore.h"

#include <algorithm>
#include <limits>
#include <string>

#include "store/PathQueries.h"
#include "store/sqlite/ChatRows.h"
#include "store/sqlite/MessageTree.h"
#include "store/sqlite/SqliteDb.h"

namespace troupe::store::sqlite {
namespace {

Status owned(Connection& c, const char* sql, Id user_id, Id id, const char* what) {
  auto st = c.prepare(sql);
  if (!st.ok()) return st.error();
  st->bind_int(1, id).bind_int(2, user_id);
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return make_error(Errc::not_found, what);
  return {};
}

Result<std::vector<Chat>> read_chats(Stmt& st) {
  std::vector<Chat> out;
  for (;;) {
    auto row = st.step();
    if (!row.ok()) return row.error();
    if (!*row) return out;
    out.push_back(read_chat(st));
  }
}

}  // namespace

Result<Chat> SqliteChatStore::create_chat(const Chat& in, const std::vector<std::string>& greetings) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<Chat> {
    TROUPE_TRY_STATUS(owned(c, "SELECT 1 FROM characters WHERE id = ?1 AND user_id = ?2",
                            in.user_id, in.character_id, "character not found"));
    if (in.persona_id != 0) {
      TROUPE_TRY_STATUS(owned(c, "SELECT 1 FROM personas WHERE id = ?1 AND user_id = ?2",
                              in.user_id, in.persona_id, "persona not found"));
    }
    auto st = c.prepare(
        "INSERT INTO chats(user_id, character_id, persona_id, title, created_at, updated_at, seq_reserved) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?5, ?6)");
    if (!st.ok()) return st.error();
    st->bind_int(1, in.user_id).bind_int(2, in.character_id);
    if (in.persona_id != 0) {
      st->bind_int(3, in.persona_id);
    } else {
      st->bind_null(3);
    }
    st->bind_text(4, in.title).bind_int(5, now).bind_int(6, std::max<std::int64_t>(in.seq_reserved, 0));
    TROUPE_TRY_STATUS(st->run());
    const Id chat_id = c.last_insert_id();
    MessageTree tree(c, now);
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

Result<Chat> SqliteChatStore::get_chat(Id user_id, Id id) {
  return db_.read([&](Connection& c) { return load_chat(c, user_id, id); });
}

Result<std::vector<Chat>> SqliteChatStore::list_chats(Id user_id, Id character_id, Id after_id,
                                                      int limit) {
  static const std::string all = std::string("SELECT ") + kChatColumns +
                                 " FROM chats c WHERE c.user_id = ?1 AND c.id > ?2 "
                                 "ORDER BY c.id LIMIT ?3";
  static const std::string one = std::string("SELECT ") + kChatColumns +
                                 " FROM chats c WHERE c.character_id = ?4 AND c.user_id = ?1 "
                                 "AND c.id > ?2 ORDER BY c.id LIMIT ?3";
  limit = std::clamp(limit, 1, 200);
  return db_.read([&](Connection& c) -> Result<std::vector<Chat>> {
    auto st = c.prepare(character_id == 0 ? all : one);
    if (!st.ok()) return st.error();
    st->bind_int(1, user_id).bind_int(2, after_id).bind_int(3, limit);
    if (character_id != 0) st->bind_int(4, character_id);
    return read_chats(*st);
  });
}

Status SqliteChatStore::delete_chat(Id user_id, Id id) {
  return db_.write([&](Connection& c) -> Status {
    auto st = c.prepare("DELETE FROM chats WHERE id = ?1 AND user_id = ?2");
    if (!st.ok()) return st.error();
    st->bind_int(1, id).bind_int(2, user_id);
    TROUPE_TRY_STATUS(st->run());
    if (c.changes() == 0) return make_error(Errc::not_found, "chat not found");
    return {};
  });
}

Result<PathPage> SqliteChatStore::path_page(Id chat_id, Id before, int limit) {
  return db_.snapshot([&](Connection& c) { return path_page_in<MessageTree>(c, chat_id, before, limit); });
}

Result<std::vector<Message>> SqliteChatStore::path_to(Id chat_id, Id until, int max_messages) {
  return db_.snapshot([&](Connection& c) { return path_to_in<MessageTree>(c, chat_id, until, max_messages); });
}

Result<std::vector<Message>> SqliteChatStore::path_tail(
    Id chat_id, Id until, int max_messages, const std::function<bool(const Message&)>& enough) {
  if (max_messages <= 0) return make_error(Errc::bad_request, "max_messages must be positive");
  return db_.snapshot([&](Connection& c) -> Result<std::vector<Message>> {
    Id id = until;
    if (id == 0) {
      auto chat = load_chat_any(c, chat_id);
      if (!chat.ok()) return chat.error();
      id = chat->leaf_id;
    }
    // One primary-key lookup per message (a cached statement), newest first.
    std::vector<Message> out;
    while (id != 0 && static_cast<int>(out.size()) < max_messages) {
      auto m = load_message_any(c, id);
      if (!m.ok()) return m.error();
      if (m->chat_id != chat_id) return make_error(Errc::not_found, "message not found");
      id = m->parent_id;
      out.push_back(std::move(*m));
      if (enough && enough(out.back())) break;
    }
    std::reverse(out.begin(), out.end());
    return out;
  });
}

Result<Message> SqliteChatStore::get_message(Id user_id, Id id) {
  return db_.read([&](Connection& c) -> Result<Message> {
    auto m = load_message(c, user_id, id);
    if (!m.ok()) return m;
    TROUPE_TRY_STATUS(fill_swipe(c, *m));
    return m;
  });
}

Result<Siblings> SqliteChatStore::siblings(Id user_id, Id id) {
  return db_.read([&](Connection& c) -> Result<Siblings> {
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
    auto st = c.prepare(
        "SELECT id, COUNT(*) OVER () FROM messages WHERE chat_id = ?1 AND parent_id = ?2 "
        "ORDER BY id LIMIT ?3");
    if (!st.ok()) return st.error();
    st->bind_int(1, m->chat_id).bind_int(2, m->parent_id).bind_int(3, kMaxSiblingsListed);
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      out.ids.push_back(st->col_int(0));
      out.count = static_cast<int>(st->col_int(1));
    }
    return out;
  });
}

Result<Message> SqliteChatStore::edit_message(Id user_id, Id id, const std::string& content) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<Message> {
    auto m = load_message(c, user_id, id);
    if (!m.ok()) return m;
    if (m->status == "streaming") return make_error(Errc::conflict, "message is being generated");
    auto st = c.prepare(
        "UPDATE messages SET content = ?2, status = 'ok', updated_at = ?3 WHERE id = ?1");
    if (!st.ok()) return st.error();
    st->bind_int(1, id).bind_text(2, content).bind_int(3, now);
    TROUPE_TRY_STATUS(st->run());
    auto touch = c.prepare("UPDATE chats SET updated_at = ?2 WHERE id = ?1");
    if (!touch.ok()) return touch.error();
    touch->bind_int(1, m->chat_id).bind_int(2, now);
    TROUPE_TRY_STATUS(touch->run());
    m->content = content;
    m->status = "ok";
    m->updated_at = now;
    TROUPE_TRY_STATUS(fill_swipe(c, *m));
    return m;
  });
}

Status SqliteChatStore::delete_message(Id user_id, Id id) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Status {
    auto m = load_message(c, user_id, id);
    if (!m.ok()) return m.error();
    auto chat = load_chat_any(c, m->chat_id);
    if (!chat.ok()) return chat.error();
    MessageTree tree(c, now);
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

Result<Chat> SqliteChatStore::select_message(Id user_id, Id id) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<Chat> {
    auto m = load_message(c, user_id, id);
    if (!m.ok()) return m.error();
    TROUPE_TRY_STATUS(MessageTree(c, now).select(m->chat_id, id));
    return load_chat_any(c, m->chat_id);
  });
}

Result<Chat> SqliteChatStore::branch_from(Id user_id, Id id, std::int64_t seq_reserved) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<Chat> {
    auto m = load_message(c, user_id, id);
    if (!m.ok()) return m.error();
    auto chat = load_chat_any(c, m->chat_id);
    if (!chat.ok()) return chat.error();
    MessageTree tree(c, now);
    auto path = tree.walk_up(chat->id, id, std::numeric_limits<std::int64_t>::max());
    if (!path.ok()) return path.error();
    auto st = c.prepare(
        "INSERT INTO chats(user_id, character_id, persona_id, title, created_at, updated_at, seq_reserved) "
        "SELECT user_id, character_id, persona_id, title || ' (branch)', ?2, ?2, ?3 "
        "FROM chats WHERE id = ?1");
    if (!st.ok()) return st.error();
    st->bind_int(1, chat->id).bind_int(2, now).bind_int(3, std::max<std::int64_t>(seq_reserved, 0));
    TROUPE_TRY_STATUS(st->run());
    const Id branch_id = c.last_insert_id();
    auto last = tree.copy_chain(branch_id, *path);
    if (!last.ok()) return last.error();
    return load_chat_any(c, branch_id);
  });
}

Result<std::int64_t> SqliteChatStore::reserve_seq(Id chat_id, std::int64_t count) {
  if (count < 0) return make_error(Errc::bad_request, "count must not be negative");
  return db_.write([&](Connection& c) -> Result<std::int64_t> {
    auto st = c.prepare(
        "UPDATE chats SET seq_reserved = seq_reserved + ?2 WHERE id = ?1 RETURNING seq_reserved");
    if (!st.ok()) return st.error();
    st->bind_int(1, chat_id).bind_int(2, count);
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) return make_error(Errc::not_found, "chat not found");
    const std::int64_t v = st->col_int(0);
    TROUPE_TRY_STATUS(st->run());
    return v;
  });
}

}  // namespace troupe::store::sqlite
