// UserStore: users and their hashed bearer tokens.
// Thread-safety: implementations are safe for concurrent use from any non-I/O thread (blocking).
#pragma once

#include <optional>
#include <string>

#include "core/Result.h"
#include "store/Records.h"

namespace troupe::store {

class UserStore {
 public:
  virtual ~UserStore() = default;
  // Creates a user and stores sha256(token). Name must be unique (409 otherwise).
  virtual Result<User> create_user(const std::string& name, bool is_admin,
                                   const std::string& token_hash) = 0;
  // Adds another token to an existing user.
  virtual Status add_token(Id user_id, const std::string& token_hash) = 0;
  virtual Result<User> user_by_token_hash(const std::string& token_hash) = 0;
  virtual Result<User> user_by_name(const std::string& name) = 0;
  virtual Result<std::int64_t> count_users() = 0;
  virtual Result<User> get_user(Id id) = 0;
  // Deletes the user and, in the same transaction, everything of theirs (tokens, characters,
  // personas, chats with their messages, generations, keys and memories). not_found if unknown.
  virtual Status delete_user(Id id) = 0;
};

}  // namespace troupe::store
