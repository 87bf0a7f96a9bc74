#include "store/postgres/PgCharacterStore.h"

#include <algorithm>
#include <string>
#include <vector>

#include "store/postgres/PgDb.h"
#include "store/postgres/PgRows.h"
#include "store/sqlite/StringList.h"

namespace troupe::store::postgres {
namespace {

using sqlite::encode_string_list;

// Runs `sql` with `head` as $1.., then the 19 content fields (name .. avatar_png), then `now`.
Result<PgResult> run_with_fields(PgConnection& c, const std::string& sql,
                                 std::vector<PgParam> head, const Character& ch,
                                 std::int64_t now) {
  std::vector<PgParam> p = std::move(head);
  p.insert(p.end(), {ch.name, ch.description, ch.personality, ch.scenario, ch.first_mes,
                     ch.mes_example, ch.creator_notes, ch.system_prompt,
                     ch.post_history_instructions, encode_string_list(ch.alternate_greetings),
                     encode_string_list(ch.tags), ch.creator, ch.character_version,
                     ch.extensions_json, ch.character_book_json, ch.extra_json,
                     ch.top_extra_json, ch.source_spec,
                     ch.avatar_png.empty() ? PgParam::null() : PgParam::bytea(ch.avatar_png)});
  p.emplace_back(now);
  return c.query(sql, p);
}

Result<Character> load_character(PgConnection& c, Id user_id, Id id) {
  static const std::string sql = std::string("SELECT ") + kCharacterColumns +
                                 " FROM characters WHERE id = $1 AND user_id = $2";
  auto r = c.query(sql, {id, user_id});
  if (!r.ok()) return r.error();
  if (r->empty()) return make_error(Errc::not_found, "character not found");
  return read_character(*r, 0);
}

Result<Persona> load_persona(PgConnection& c, Id user_id, Id id) {
  static const std::string sql = std::string("SELECT ") + kPersonaColumns +
                                 " FROM personas WHERE id = $1 AND user_id = $2";
  auto r = c.query(sql, {id, user_id});
  if (!r.ok()) return r.error();
  if (r->empty()) return make_error(Errc::not_found, "persona not found");
  return read_persona(*r, 0);
}

// Serializes persona changes of one user (the "one default" rule) across connections.
Status lock_user(PgConnection& c, Id user_id) {
  auto r = c.query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", {user_id});
  if (!r.ok()) return r.error();
  if (r->empty()) return make_error(Errc::not_found, "user not found");
  return {};
}

// Clears is_default on every persona of the user except `keep`.
Status clear_default(PgConnection& c, Id user_id, Id keep) {
  auto r = c.query(
      "UPDATE personas SET is_default = FALSE WHERE user_id = $1 AND is_default AND id <> $2",
      {user_id, keep});
  if (!r.ok()) return r.error();
  return {};
}

// ILIKE pattern matching `s` anywhere, with %, _ and the escape character escaped.
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

Result<Character> PgCharacterStore::create_character(const Character& in) {
  static const std::string sql =
      "INSERT INTO characters(user_id, name, description, personality, scenario, first_mes, "
      "mes_example, creator_notes, system_prompt, post_history_instructions, "
      "alternate_greetings, tags, creator, character_version, extensions_json, "
      "character_book_json, extra_json, top_extra_json, source_spec, avatar_png, created_at, "
      "updated_at) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
      "$16, $17, $18, $19, $20, $21, $21) RETURNING id";
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<Character> {
    auto r = run_with_fields(c, sql, {in.user_id}, in, now);
    if (!r.ok()) return r.error();
    Character out = in;
    out.id = r->col_int(0, 0);
    out.created_at = now;
    out.updated_at = now;
    return out;
  });
}

Result<Character> PgCharacterStore::get_character(Id user_id, Id id) {
  return db_.read([&](PgConnection& c) { return load_character(c, user_id, id); });
}

Result<std::vector<Character>> PgCharacterStore::list_characters(Id user_id, const ListQuery& q) {
  static const std::string sql = std::string("SELECT ") + kCharacterColumns +
                                 " FROM characters WHERE user_id = $1 AND id > $2 AND "
                                 "($3::text = '' OR name ILIKE $4 ESCAPE '\\') "
                                 "ORDER BY id LIMIT $5";
  const int limit = std::clamp(q.limit, 1, 200);
  return db_.read([&](PgConnection& c) -> Result<std::vector<Character>> {
    auto r = c.query(sql, {user_id, q.after_id, q.search, like_pattern(q.search), limit});
    if (!r.ok()) return r.error();
    std::vector<Character> out;
    for (int row = 0; row < r->rows(); ++row) {
      auto ch = read_character(*r, row);
      if (!ch.ok()) return ch.error();
      out.push_back(std::move(*ch));
    }
    return out;
  });
}

Result<Character> PgCharacterStore::update_character(const Character& in) {
  static const std::string sql =
      "UPDATE characters SET name = $3, description = $4, personality = $5, scenario = $6, "
      "first_mes = $7, mes_example = $8, creator_notes = $9, system_prompt = $10, "
      "post_history_instructions = $11, alternate_greetings = $12, tags = $13, creator = $14, "
      "character_version = $15, extensions_json = $16, character_book_json = $17, "
      "extra_json = $18, top_extra_json = $19, source_spec = $20, avatar_png = $21, "
      "updated_at = $22 WHERE id = $1 AND user_id = $2";
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<Character> {
    auto r = run_with_fields(c, sql, {in.id, in.user_id}, in, now);
    if (!r.ok()) return r.error();
    if (r->affected() == 0) return make_error(Errc::not_found, "character not found");
    return load_character(c, in.user_id, in.id);
  });
}

Status PgCharacterStore::delete_character(Id user_id, Id id) {
  // Chats, their messages, generations and idempotency keys go with it (FK cascade).
  return db_.write([&](PgConnection& c) -> Status {
    auto r = c.query("DELETE FROM characters WHERE id = $1 AND user_id = $2", {id, user_id});
    if (!r.ok()) return r.error();
    if (r->affected() == 0) return make_error(Errc::not_found, "character not found");
    return {};
  });
}

Result<Persona> PgCharacterStore::create_persona(const Persona& in) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<Persona> {
    TROUPE_TRY_STATUS(lock_user(c, in.user_id));
    if (in.is_default) TROUPE_TRY_STATUS(clear_default(c, in.user_id, 0));
    auto r = c.query(
        "INSERT INTO personas(user_id, name, description, is_default, created_at, updated_at) "
        "VALUES($1, $2, $3, $4::int::boolean, $5, $5) RETURNING id",
        {in.user_id, in.name, in.description, in.is_default ? 1 : 0, now});
    if (!r.ok()) return r.error();
    Persona out = in;
    out.id = r->col_int(0, 0);
    out.created_at = now;
    out.updated_at = now;
    return out;
  });
}

Result<Persona> PgCharacterStore::get_persona(Id user_id, Id id) {
  return db_.read([&](PgConnection& c) { return load_persona(c, user_id, id); });
}

Result<std::vector<Persona>> PgCharacterStore::list_personas(Id user_id) {
  static const std::string sql = std::string("SELECT ") + kPersonaColumns +
                                 " FROM personas WHERE user_id = $1 ORDER BY id";
  return db_.read([&](PgConnection& c) -> Result<std::vector<Persona>> {
    auto r = c.query(sql, {user_id});
    if (!r.ok()) return r.error();
    std::vector<Persona> out;
    for (int row = 0; row < r->rows(); ++row) out.push_back(read_persona(*r, row));
    return out;
  });
}

Result<Persona> PgCharacterStore::update_persona(const Persona& in) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<Persona> {
    auto existing = load_persona(c, in.user_id, in.id);
    if (!existing.ok()) return existing.error();
    TROUPE_TRY_STATUS(lock_user(c, in.user_id));
    if (in.is_default) TROUPE_TRY_STATUS(clear_default(c, in.user_id, in.id));
    auto r = c.query(
        "UPDATE personas SET name = $3, description = $4, is_default = $5::int::boolean, "
        "updated_at = $6 WHERE id = $1 AND user_id = $2",
        {in.id, in.user_id, in.name, in.description, in.is_default ? 1 : 0, now});
    if (!r.ok()) return r.error();
    if (r->affected() == 0) return make_error(Errc::not_found, "persona not found");
    return load_persona(c, in.user_id, in.id);
  });
}

Status PgCharacterStore::delete_persona(Id user_id, Id id) {
  // Chats using it get persona_id NULL (read back as 0: the default at prompt time).
  return db_.write([&](PgConnection& c) -> Status {
    auto r = c.query("DELETE FROM personas WHERE id = $1 AND user_id = $2", {id, user_id});
    if (!r.ok()) return r.error();
    if (r->affected() == 0) return make_error(Errc::not_found, "persona not found");
    return {};
  });
}

Result<Persona> PgCharacterStore::default_persona(Id user_id) {
  static const std::string sql = std::string("SELECT ") + kPersonaColumns +
                                 " FROM personas WHERE user_id = $1 AND is_default";
  return db_.read([&](PgConnection& c) -> Result<Persona> {
    auto r = c.query(sql, {user_id});
    if (!r.ok()) return r.error();
    if (r->empty()) return make_error(Errc::not_found, "no default persona");
    return read_persona(*r, 0);
  });
}

}  // namespace troupe::store::postgres
