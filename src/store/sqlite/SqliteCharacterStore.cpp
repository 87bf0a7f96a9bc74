#include "store/sqlite/SqliteCharacterStore.h"

#include <algorithm>
#include <string>

#include "store/sqlite/CharacterRows.h"
#include "store/sqlite/SqliteDb.h"

namespace troupe::store::sqlite {
namespace {

const std::string& select_character_sql() {
  static const std::string s =
      std::string("SELECT ") + kCharacterColumns + " FROM characters WHERE id = ?1 AND user_id = ?2";
  return s;
}

const std::string& select_persona_sql() {
  static const std::string s =
      std::string("SELECT ") + kPersonaColumns + " FROM personas WHERE id = ?1 AND user_id = ?2";
  return s;
}

Result<Character> load_character(Connection& c, Id user_id, Id id) {
  auto st = c.prepare(select_character_sql());
  if (!st.ok()) return st.error();
  st->bind_int(1, id).bind_int(2, user_id);
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return make_error(Errc::not_found, "character not found");
  return read_character(*st);
}

Result<Persona> load_persona(Connection& c, Id user_id, Id id) {
  auto st = c.prepare(select_persona_sql());
  if (!st.ok()) return st.error();
  st->bind_int(1, id).bind_int(2, user_id);
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return make_error(Errc::not_found, "persona not found");
  return read_persona(*st);
}

// Clears is_default on every persona of the user except `keep`.
Status clear_default(Connection& c, Id user_id, Id keep) {
  auto st = c.prepare(
      "UPDATE personas SET is_default = 0 WHERE user_id = ?1 AND is_default <> 0 AND id <> ?2");
  if (!st.ok()) return st.error();
  st->bind_int(1, user_id).bind_int(2, keep);
  return st->run();
}

// LIKE pattern matching `s` anywhere, with %, _ and the escape character escaped.
std::string like_pattern(const std::string& s) {
  std::string p = "%";
  for (char ch : s) {
    if (ch == '%' || ch == '_' || ch == '\\') p += '\\';
    p += ch;
  }
  p += '%';
  return p;
}

}  // namespace

Result<Character> SqliteCharacterStore::create_character(const Character& in) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<Character> {
    auto st = c.prepare(
        "INSERT INTO characters(user_id, name, description, personality, scenario, first_mes, "
        "mes_example, creator_notes, system_prompt, post_history_instructions, "
        "alternate_greetings, tags, creator, character_version, extensions_json, "
        "character_book_json, extra_json, top_extra_json, source_spec, avatar_png, created_at, "
        "updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
        "?16, ?17, ?18, ?19, ?20, ?21, ?21)");
    if (!st.ok()) return st.error();
    st->bind_int(1, in.user_id);
    bind_character_fields(*st, in, 2);
    st->bind_int(21, now);
    TROUPE_TRY_STATUS(st->run());
    Character out = in;
    out.id = c.last_insert_id();
    out.created_at = now;
    out.updated_at = now;
    return out;
  });
}

Result<Character> SqliteCharacterStore::get_character(Id user_id, Id id) {
  return db_.read([&](Connection& c) { return load_character(c, user_id, id); });
}

Result<std::vector<Character>> SqliteCharacterStore::list_characters(Id user_id,
                                                                     const ListQuery& q) {
  static const std::string sql = std::string("SELECT ") + kCharacterColumns +
                                 " FROM characters WHERE user_id = ?1 AND id > ?2 AND "
                                 "(?3 = '' OR name LIKE ?4 ESCAPE '\\') ORDER BY id LIMIT ?5";
  const int limit = std::clamp(q.limit, 1, 200);
  return db_.read([&](Connection& c) -> Result<std::vector<Character>> {
    auto st = c.prepare(sql);
    if (!st.ok()) return st.error();
    st->bind_int(1, user_id).bind_int(2, q.after_id).bind_text(3, q.search);
    st->bind_text(4, like_pattern(q.search)).bind_int(5, limit);
    std::vector<Character> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      auto ch = read_character(*st);
      if (!ch.ok()) return ch.error();
      out.push_back(std::move(*ch));
    }
    return out;
  });
}

Result<Character> SqliteCharacterStore::update_character(const Character& in) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<Character> {
    auto st = c.prepare(
        "UPDATE characters SET name = ?3, description = ?4, personality = ?5, scenario = ?6, "
        "first_mes = ?7, mes_example = ?8, creator_notes = ?9, system_prompt = ?10, "
        "post_history_instructions = ?11, alternate_greetings = ?12, tags = ?13, creator = ?14, "
        "character_version = ?15, extensions_json = ?16, character_book_json = ?17, "
        "extra_json = ?18, top_extra_json = ?19, source_spec = ?20, avatar_png = ?21, "
        "updated_at = ?22 WHERE id = ?1 AND user_id = ?2");
    if (!st.ok()) return st.error();
    st->bind_int(1, in.id).bind_int(2, in.user_id);
    bind_character_fields(*st, in, 3);
    st->bind_int(22, now);
    TROUPE_TRY_STATUS(st->run());
    if (c.changes() == 0) return make_error(Errc::not_found, "character not found");
    return load_character(c, in.user_id, in.id);
  });
}

Status SqliteCharacterStore::delete_character(Id user_id, Id id) {
  // Chats, their messages, generations and idempotency keys go with it (FK cascade).
  return db_.write([&](Connection& c) -> Status {
    auto st = c.prepare("DELETE FROM characters WHERE id = ?1 AND user_id = ?2");
    if (!st.ok()) return st.error();
    st->bind_int(1, id).bind_int(2, user_id);
    TROUPE_TRY_STATUS(st->run());
    if (c.changes() == 0) return make_error(Errc::not_found, "character not found");
    return {};
  });
}

Result<Persona> SqliteCharacterStore::create_persona(const Persona& in) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<Persona> {
    if (in.is_default) TROUPE_TRY_STATUS(clear_default(c, in.user_id, 0));
    auto st = c.prepare(
        "INSERT INTO personas(user_id, name, description, is_default, created_at, updated_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?5)");
    if (!st.ok()) return st.error();
    st->bind_int(1, in.user_id).bind_text(2, in.name).bind_text(3, in.description);
    st->bind_int(4, in.is_default ? 1 : 0).bind_int(5, now);
    TROUPE_TRY_STATUS(st->run());
    Persona out = in;
    out.id = c.last_insert_id();
    out.created_at = now;
    out.updated_at = now;
    return out;
  });
}

Result<Persona> SqliteCharacterStore::get_persona(Id user_id, Id id) {
  return db_.read([&](Connection& c) { return load_persona(c, user_id, id); });
}

Result<std::vector<Persona>> SqliteCharacterStore::list_personas(Id user_id) {
  static const std::string sql = std::string("SELECT ") + kPersonaColumns +
                                 " FROM personas WHERE user_id = ?1 ORDER BY id";
  return db_.read([&](Connection& c) -> Result<std::vector<Persona>> {
    auto st = c.prepare(sql);
    if (!st.ok()) return st.error();
    st->bind_int(1, user_id);
    std::vector<Persona> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      out.push_back(read_persona(*st));
    }
    return out;
  });
}

Result<Persona> SqliteCharacterStore::update_persona(const Persona& in) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<Persona> {
    auto existing = load_persona(c, in.user_id, in.id);
    if (!existing.ok()) return existing.error();
    if (in.is_default) TROUPE_TRY_STATUS(clear_default(c, in.user_id, in.id));
    auto st = c.prepare(
        "UPDATE personas SET name = ?3, description = ?4, is_default = ?5, updated_at = ?6 "
        "WHERE id = ?1 AND user_id = ?2");
    if (!st.ok()) return st.error();
    st->bind_int(1, in.id).bind_int(2, in.user_id).bind_text(3, in.name);
    st->bind_text(4, in.description).bind_int(5, in.is_default ? 1 : 0).bind_int(6, now);
    TROUPE_TRY_STATUS(st->run());
    return load_persona(c, in.user_id, in.id);
  });
}

Status SqliteCharacterStore::delete_persona(Id user_id, Id id) {
  // Chats using it get persona_id NULL (read back as 0: the default at prompt time).
  return db_.write([&](Connection& c) -> Status {
    auto st = c.prepare("DELETE FROM personas WHERE id = ?1 AND user_id = ?2");
    if (!st.ok()) return st.error();
    st->bind_int(1, id).bind_int(2, user_id);
    TROUPE_TRY_STATUS(st->run());
    if (c.changes() == 0) return make_error(Errc::not_found, "persona not found");
    return {};
  });
}

Result<Persona> SqliteCharacterStore::default_persona(Id user_id) {
  static const std::string sql = std::string("SELECT ") + kPersonaColumns +
                                 " FROM personas WHERE user_id = ?1 AND is_default <> 0";
  return db_.read([&](Connection& c) -> Result<Persona> {
    auto st = c.prepare(sql);
    if (!st.ok()) return st.error();
    st->bind_int(1, user_id);
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) return make_error(Errc::not_found, "no default persona");
    return read_persona(*st);
  });
}

}  // namespace troupe::store::sqlite
