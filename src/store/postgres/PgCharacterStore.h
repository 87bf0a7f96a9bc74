// PgCharacterStore: CharacterStore on PgDb. Every row is scoped by user_id: another user's id
// answers not_found. Lists return whole records (including avatar bytes, stored as bytea), ordered
// by id. Name search is a case-insensitive substring match (ILIKE, wildcards in the text literal).
// Persona changes lock the owning user's row so "one default persona" holds across nodes.
// Thread-safety: safe for concurrent use from any non-I/O thread (blocking).
#pragma once

#include "core/Clock.h"
#include "store/CharacterStore.h"

namespace troupe::store::postgres {

class PgDb;

class PgCharacterStore final : public CharacterStore {
 public:
  PgCharacterStore(PgDb& db, const Clock& clock) : db_(db), clock_(clock) {}

  Result<Character> create_character(const Character& c) override;
  Result<Character> get_character(Id user_id, Id id) override;
  Result<std::vector<Character>> list_characters(Id user_id, const ListQuery& q) override;
  Result<Character> update_character(const Character& c) override;
  Status delete_character(Id user_id, Id id) override;

  Result<Persona> create_persona(const Persona& p) override;
  Result<Persona> get_persona(Id user_id, Id id) override;
  Result<std::vector<Persona>> list_personas(Id user_id) override;
  Result<Persona> update_persona(const Persona& p) override;
  Status delete_persona(Id user_id, Id id) override;
  Result<Persona> default_persona(Id user_id) override;

 private:
  PgDb& db_;
  const Clock& clock_;
};

}  // namespace troupe::store::postgres
