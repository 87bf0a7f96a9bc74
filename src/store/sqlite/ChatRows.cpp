#include "store/sqlite/ChatRows.h"

#include <string>

#include "store/sqlite/Connection.h"

namespace troupe::store::sqlite {
namespace {

// Steps once: not_found when there is no row.
Status expect_row(Stmt& st, const char* what) {
  auto row = st.step();
  if (!row.ok()) return row.error();
  if (!*row) return make_error(Errc::not_found, what);
  return {};
}

}  // namespace

const char* const kChatColumns =
    "c.id, c.user_id, c.character_id, COALESCE(c.persona_id, 0), c.title, c.leaf_id, "
    "c.root_active_id, c.seq_reserved, c.created_at, c.updated_at";
const char* const kMessageColumns =
    "m.id, m.chat_id, m.parent_id, m.active_child_id, m.role, m.content, m.status, "
    "m.generation_id, m.created_at, m.updated_at";
const char* const kGenerationColumns =
    "g.id, g.chat_id, g.user_id, g.message_id, g.kind, g.status, g.error, g.backend, "
    "g.started_at, g.finished_at";

Chat read_chat(const Stmt& st) {
  Chat c;
  c.id = st.col_int(0);
  c.user_id = st.col_int(1);
  c.character_id = st.col_int(2);
  c.persona_id = st.col_int(3);
  c.title = st.col_text(4);
  c.leaf_id = st.col_int(5);
  c.root_active_id = st.col_int(6);
  c.seq_reserved = st.col_int(7);
  c.created_at = st.col_int(8);
  c.updated_at = st.col_int(9);
  return c;
}

Message read_message(const Stmt& st) {
  Message m;
  m.id = st.col_int(0);
  m.chat_id = st.col_int(1);
  m.parent_id = st.col_int(2);
  m.active_child_id = st.col_int(3);
  m.role = st.col_text(4);
  m.content = st.col_text(5);
  m.status = st.col_text(6);
  m.generation_id = st.col_int(7);
  m.created_at = st.col_int(8);
  m.updated_at = st.col_int(9);
  return m;
}

Generation read_generation(const Stmt& st) {
  Generation g;
  g.id = st.col_int(0);
  g.chat_id = st.col_int(1);
  g.user_id = st.col_int(2);
  g.message_id = st.col_int(3);
  g.kind = st.col_text(4);
  g.status = st.col_text(5);
  g.error = st.col_text(6);
  g.backend = st.col_text(7);
  g.started_at = st.col_int(8);
  g.finished_at = st.col_int(9);
  return g;
}

Result<Chat> load_chat(Connection& c, Id user_id, Id id) {
  static const std::string sql = std::string("SELECT ") + kChatColumns +
                                 " FROM chats c WHERE c.id = ?1 AND c.user_id = ?2";
  auto st = c.prepare(sql);
  if (!st.ok()) return st.error();
  st->bind_int(1, id).bind_int(2, user_id);
  TROUPE_TRY_STATUS(expect_row(*st, "chat not found"));
  return read_chat(*st);
}

Result<Chat> load_chat_any(Connection& c, Id id) {
  static const std::string sql =
      std::string("SELECT ") + kChatColumns + " FROM chats c WHERE c.id = ?1";
  auto st = c.prepare(sql);
  if (!st.ok()) return st.error();
  st->bind_int(1, id);
  TROUPE_TRY_STATUS(expect_row(*st, "chat not found"));
  return read_chat(*st);
}

Result<Message> load_message(Connection& c, Id user_id, Id id) {
  static const std::string sql =
      std::string("SELECT ") + kMessageColumns +
      " FROM messages m JOIN chats c ON c.id = m.chat_id WHERE m.id = ?1 AND c.user_id = ?2";
  auto st = c.prepare(sql);
  if (!st.ok()) return st.error();
  st->bind_int(1, id).bind_int(2, user_id);
  TROUPE_TRY_STATUS(expect_row(*st, "message not found"));
  return read_message(*st);
}

Result<Message> load_message_any(Connection& c, Id id) {
  static const std::string sql =
      std::string("SELECT ") + kMessageColumns + " FROM messages m WHERE m.id = ?1";
  auto st = c.prepare(sql);
  if (!st.ok()) return st.error();
  st->bind_int(1, id);
  TROUPE_TRY_STATUS(expect_row(*st, "message not found"));
  return read_message(*st);
}

Result<Generation> load_generation(Connection& c, Id id) {
  static const std::string sql =
      std::string("SELECT ") + kGenerationColumns + " FROM generations g WHERE g.id = ?1";
  auto st = c.prepare(sql);
  if (!st.ok()) return st.error();
  st->bind_int(1, id);
  TROUPE_TRY_STATUS(expect_row(*st, "generation not found"));
  return read_generation(*st);
}

Result<Id> running_generation(Connection& c, Id chat_id) {
  auto st = c.prepare("SELECT id FROM generations WHERE chat_id = ?1 AND status = 'running'");
  if (!st.ok()) return st.error();
  st->bind_int(1, chat_id);
  auto row = st->step();
  if (!row.ok()) return row.error();
  return *row ? st->col_int(0) : Id{0};
}

Status fill_swipe(Connection& c, Message& m) {
  auto st = c.prepare(
      "SELECT COUNT(*), COALESCE(SUM(id < ?3), 0) FROM messages "
      "WHERE chat_id = ?1 AND parent_id = ?2");
  if (!st.ok()) return st.error();
  st->bind_int(1, m.chat_id).bind_int(2, m.parent_id).bind_int(3, m.id);
  auto row = st->step();
  if (!row.ok()) return row.error();
  m.swipe_count = static_cast<int>(st->col_int(0));
  m.swipe_index = static_cast<int>(st->col_int(1));
  return {};
}

}  // namespace troupe::store::sqlite
