// CharacterRows: SQL column lists and row <-> record mapping for characters and personas.
// Thread-safety: pure functions over a Stmt owned by the caller.
#pragma once

#include "core/Result.h"
#include "store/Records.h"
#include "store/sqlite/Stmt.h"

namespace troupe::store::sqlite {

// "id, user_id, name, ... , created_at, updated_at" (23 columns, in Character field order).
extern const char* const kCharacterColumns;
// Binds the 19 content fields (name .. avatar_png) to ?first .. ?first+18.
void bind_character_fields(Stmt& st, const Character& c, int first);
// Reads a row selected with kCharacterColumns; fails if the stored lists are corrupt.
Result<Character> read_character(const Stmt& st);

// "id, user_id, name, description, is_default, created_at, updated_at".
extern const char* const kPersonaColumns;
Persona read_persona(const Stmt& st);

}  // namespace troupe::store::sqlite
