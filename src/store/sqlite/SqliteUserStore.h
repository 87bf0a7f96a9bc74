// SqliteUserStore: UserStore on SqliteDb. Only SHA-256 hex digests of tokens are stored; anything
// else passed as a hash is refused (bad_request) so a raw token can never reach the disk.
// Thread-safety: safe for concurrent use from any non-I/O thread (blocking).
#pragma once

#include "core/Clock.h"
#include "store/UserStore.h"

namespace troupe::store::sqlite {

class SqliteDb;

class SqliteUserStore final : public UserStore {
 public:
  SqliteUserStore(SqliteDb& db, const Clock& clock) : db_(db), clock_(clock) {}

  Result<User> create_user(const std::string& name, bool is_admin,
                           const std::string& token_hash) override;
  Status add_token(Id user_id, const std::string& token_hash) override;
  Result<User> user_by_token_hash(const std::string& token_hash) override;
  Result<User> user_by_name(const std::string& name) override;
  Result<std::int64_t> count_users() override;
  Result<User> get_user(Id id) override;
  Status delete_user(Id id) override;

 private:
  SqliteDb& db_;
  const Clock& clock_;
};

}  // namespace troupe::store::sqlite
