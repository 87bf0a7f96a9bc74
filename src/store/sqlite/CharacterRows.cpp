#include "store/sqlite/CharacterRows.h"

#include "store/sqlite/StringList.h"

namespace troupe::store::sqlite {

const char* const kCharacterColumns =
    "id, user_id, name, description, personality, scenario, first_mes, mes_example, "
    "creator_notes, system_prompt, post_history_instructions, alternate_greetings, tags, creator, "
    "character_version, extensions_json, character_book_json, extra_json, top_extra_json, "
    "source_spec, avatar_png, created_at, updated_at";

void bind_character_fields(Stmt& st, const Character& c, int first) {
  int i = first;
  st.bind_text(i++, c.name);
  st.bind_text(i++, c.description);
  st.bind_text(i++, c.personality);
  st.bind_text(i++, c.scenario);
  st.bind_text(i++, c.first_mes);
  st.bind_text(i++, c.mes_example);
  st.bind_text(i++, c.creator_notes);
  st.bind_text(i++, c.system_prompt);
  st.bind_text(i++, c.post_history_instructions);
  st.bind_text(i++, encode_string_list(c.alternate_greetings));
  st.bind_text(i++, encode_string_list(c.tags));
  st.bind_text(i++, c.creator);
  st.bind_text(i++, c.character_version);
  st.bind_text(i++, c.extensions_json);
  st.bind_text(i++, c.character_book_json);
  st.bind_text(i++, c.extra_json);
  st.bind_text(i++, c.top_extra_json);
  st.bind_text(i++, c.source_spec);
  if (c.avatar_png.empty()) {
    st.bind_null(i++);
  } else {
    st.bind_blob(i++, c.avatar_png);
  }
}

Result<Character> read_character(const Stmt& st) {
  Character c;
  int i = 0;
  c.id = st.col_int(i++);
  c.user_id = st.col_int(i++);
  c.name = st.col_text(i++);
  c.description = st.col_text(i++);
  c.personality = st.col_text(i++);
  c.scenario = st.col_text(i++);
  c.first_mes = st.col_text(i++);
  c.mes_example = st.col_text(i++);
  c.creator_notes = st.col_text(i++);
  c.system_prompt = st.col_text(i++);
  c.post_history_instructions = st.col_text(i++);
  auto greetings = decode_string_list(st.col_text(i++));
  auto tags = decode_string_list(st.col_text(i++));
  if (!greetings || !tags) {
    return make_error(Errc::internal, "character " + std::to_string(c.id) + ": corrupt list column");
  }
  c.alternate_greetings = std::move(*greetings);
  c.tags = std::move(*tags);
  c.creator = st.col_text(i++);
  c.character_version = st.col_text(i++);
  c.extensions_json = st.col_text(i++);
  c.character_book_json = st.col_text(i++);
  c.extra_json = st.col_text(i++);
  c.top_extra_json = st.col_text(i++);
  c.source_spec = st.col_text(i++);
  c.avatar_png = st.col_blob(i++);
  c.created_at = st.col_int(i++);
  c.updated_at = st.col_int(i++);
  return c;
}

const char* const kPersonaColumns =
    "id, user_id, name, description, is_default, created_at, updated_at";

Persona read_persona(const Stmt& st) {
  Persona p;
  p.id = st.col_int(0);
  p.user_id = st.col_int(1);
  p.name = st.col_text(2);
  p.description = st.col_text(3);
  p.is_default = st.col_int(4) != 0;
  p.created_at = st.col_int(5);
  p.updated_at = st.col_int(6);
  return p;
}

}  // namespace troupe::store::sqlite
