// CharacterStore: characters and personas, always scoped by owner (another user's id = not_found).
// Thread-safety: implementations are safe for concurrent use from any non-I/O thread (blocking).
#pragma once

#include <vector>

#include "core/Result.h"
#include "store/Records.h"

namespace troupe::store {

struct ListQuery {
  Id after_id = 0;   // cursor: ids greater than this
  int limit = 50;    // 1..200
  std::string search;  // substring of the name, case-insensitive; "" = all
};

class CharacterStore {
 public:
  virtual ~CharacterStore() = default;
  virtual Result<Character> create_character(const Character& c) = 0;  // id assigned
  virtual Result<Character> get_character(Id user_id, Id id) = 0;
  virtual Result<std::vector<Character>> list_characters(Id user_id, const ListQuery& q) = 0;
  virtual Result<Character> update_character(const Character& c) = 0;  // by c.id + c.user_id
  // Deletes the character and every chat with it.
  virtual Status delete_character(Id user_id, Id id) = 0;

  virtual Result<Persona> create_persona(const Persona& p) = 0;  // is_default clears the others
  virtual Result<Persona> get_persona(Id user_id, Id id) = 0;
  virtual Result<std::vector<Persona>> list_personas(Id user_id) = 0;
  virtual Result<Persona> update_persona(const Persona& p) = 0;
  virtual Status delete_persona(Id user_id, Id id) = 0;  // chats using it fall back to default
  // The default persona, or not_found.
  virtual Result<Persona> default_persona(Id user_id) = 0;
};

}  // namespace troupe::store
