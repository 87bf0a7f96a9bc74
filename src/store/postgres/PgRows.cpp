#include "store/postgres/PgRows.h"

#include <string>

#include "store/postgres/PgConnection.h"
#include "store/sqlite/StringList.h"

namespace troupe::store::postgres {

using sqlite::decode_string_list;

const char* const kCharacterColumns =
    "id, user_id, name, description, personality, scenario, first_mes, mes_example, "
    "creator_notes, system_prompt, post_history_instructions, alternate_greetings, tags, creator, "
    "character_version, extensions_json, character_book_json, extra_json, top_extra_json, "
    "source_spec, avatar_png, created_at, updated_at";
const char* const kPersonaColumns =
    "id, user_id, name, description, is_default, created_at, updated_at";
const char* const kChatColumns =
    "c.id, c.user_id, c.character_id, COALESCE(c.persona_id, 0), c.title, c.leaf_id, "
    "c.root_active_id, c.seq_reserved, c.created_at, c.updated_at";
const char* const kMessageColumns =
    "m.id, m.chat_id, m.parent_id, m.active_child_id, m.role, m.content, m.status, "
    "m.generation_id, m.created_at, m.updated_at";
const char* const kGenerationColumns =
    "g.id, g.chat_id, g.user_id, g.message_id, g.kind, g.status, g.error, g.backend, "
    "g.started_at, g.finished_at";

Result<Character> read_character(const PgResult& r, int row) {
  Character c;
  int i = 0;
  c.id = r.col_int(row, i++);
  c.user_id = r.col_int(row, i++);
  c.name = r.col_text(row, i++);
  c.description = r.col_text(row, i++);
  c.personality = r.col_text(row, i++);
  c.scenario = r.col_text(row, i++);
  c.first_mes = r.col_text(row, i++);
  c.mes_example = r.col_text(row, i++);
  c.creator_notes = r.col_text(row, i++);
  c.system_prompt = r.col_text(row, i++);
  c.post_history_instructions = r.col_text(row, i++);
  auto greetings = decode_string_list(r.col_text(row, i++));
  auto tags = decode_string_list(r.col_text(row, i++));
  if (!greetings || !tags) {
    return make_error(Errc::internal, "character " + std::to_string(c.id) + ": corrupt list column");
  }
  c.alternate_greetings = std::move(*greetings);
  c.tags = std::move(*tags);
  c.creator = r.col_text(row, i++);
  c.character_version = r.col_text(row, i++);
  c.extensions_json = r.col_text(row, i++);
  c.character_book_json = r.col_text(row, i++);
  c.extra_json = r.col_text(row, i++);
  c.top_extra_json = r.col_text(row, i++);
  c.source_spec = r.col_text(row, i++);
  c.avatar_png = r.col_bytea(row, i++);
  c.created_at = r.col_int(row, i++);
  c.updated_at = r.col_int(row, i++);
  return c;
}

Persona read_persona(const PgResult& r, int row) {
  Persona p;
  p.id = r.col_int(row, 0);
  p.user_id = r.col_int(row, 1);
  p.name = r.col_text(row, 2);
  p.description = r.col_text(row, 3);
  p.is_default = r.col_int(row, 4) != 0;
  p.created_at = r.col_int(row, 5);
  p.updated_at = r.col_int(row, 6);
  return p;
}

Chat read_chat(const PgResult& r, int row) {
  Chat c;
  c.id = r.col_int(row, 0);
  c.user_id = r.col_int(row, 1);
  c.character_id = r.col_int(row, 2);
  c.persona_id = r.col_int(row, 3);
  c.title = r.col_text(row, 4);
  c.leaf_id = r.col_int(row, 5);
  c.root_active_id = r.col_int(row, 6);
  c.seq_reserved = r.col_int(row, 7);
  c.created_at = r.col_int(row, 8);
  c.updated_at = r.col_int(row, 9);
  return c;
}

Message read_message(const PgResult& r, int row) {
  Message m;
  m.id = r.col_int(row, 0);
  m.chat_id = r.col_int(row, 1);
  m.parent_id = r.col_int(row, 2);
  m.active_child_id = r.col_int(row, 3);
  m.role = r.col_text(row, 4);
  m.content = r.col_text(row, 5);
  m.status = r.col_text(row, 6);
  m.generation_id = r.col_int(row, 7);
  m.created_at = r.col_int(row, 8);
  m.updated_at = r.col_int(row, 9);
  return m;
}

Generation read_generation(const PgResult& r, int row) {
  Generation g;
  g.id = r.col_int(row, 0);
  g.chat_id = r.col_int(row, 1);
  g.user_id = r.col_int(row, 2);
  g.message_id = r.col_int(row, 3);
  g.kind = r.col_text(row, 4);
  g.status = r.col_text(row, 5);
  g.error = r.col_text(row, 6);
  g.backend = r.col_text(row, 7);
  g.started_at = r.col_int(row, 8);
  g.finished_at = r.col_int(row, 9);
  return g;
}

namespace {

template <class T, class Read>
Result<T> one_row(Result<PgResult> r, Read read, const char* what) {
  if (!r.ok()) return r.error();
  if (r->empty()) return make_error(Errc::not_found, what);
  return read(*r, 0);
}

}  // namespace

Result<Chat> load_chat(PgConnection& c, Id user_id, Id id) {
  static const std::string sql = std::string("SELECT ") + kChatColumns +
                                 " FROM chats c WHERE c.id = $1 AND c.user_id = $2";
  return one_row<Chat>(c.query(sql, {id, user_id}), read_chat, "chat not found");
}

Result<Chat> load_chat_any(PgConnection& c, Id id) {
  static const std::string sql =
      std::string("SELECT ") + kChatColumns + " FROM chats c WHERE c.id = $1";
  return one_row<Chat>(c.query(sql, {id}), read_chat, "chat not found");
}

Result<Chat> lock_chat(PgConnection& c, Id id) {
  static const std::string sql =
      std::string("SELECT ") + kChatColumns + " FROM chats c WHERE c.id = $1 FOR UPDATE";
  return one_row<Chat>(c.query(sql, {id}), read_chat, "chat not found");
}

Result<Message> load_message(PgConnection& c, Id user_id, Id id) {
  static const std::string sql =
      std::string("SELECT ") + kMessageColumns +
      " FROM messages m JOIN chats c ON c.id = m.chat_id WHERE m.id = $1 AND c.user_id = $2";
  return one_row<Message>(c.query(sql, {id, user_id}), read_message, "message not found");
}

Result<Message> load_message_any(PgConnection& c, Id id) {
  static const std::string sql =
      std::string("SELECT ") + kMessageColumns + " FROM messages m WHERE m.id = $1";
  return one_row<Message>(c.query(sql, {id}), read_message, "message not found");
}

Result<Generation> load_generation(PgConnection& c, Id id) {
  static const std::string sql =
      std::string("SELECT ") + kGenerationColumns + " FROM generations g WHERE g.id = $1";
  return one_row<Generation>(c.query(sql, {id}), read_generation, "generation not found");
}

Result<Id> running_generation(PgConnection& c, Id chat_id) {
  auto r = c.query("SELECT id FROM generations WHERE chat_id = $1 AND status = 'running'",
                   {chat_id});
  if (!r.ok()) return r.error();
  return r->empty() ? Id{0} : r->col_int(0, 0);
}

Status fill_swipe(PgConnection& c, Message& m) {
  auto r = c.query(
      "SELECT COUNT(*), COUNT(*) FILTER (WHERE id < $3) FROM messages "
      "WHERE chat_id = $1 AND parent_id = $2",
      {m.chat_id, m.parent_id, m.id});
  if (!r.ok()) return r.error();
  m.swipe_count = static_cast<int>(r->col_int(0, 0));
  m.swipe_index = static_cast<int>(r->col_int(0, 1));
  return {};
}

}  // namespace troupe::store::postgres
