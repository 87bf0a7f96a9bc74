// SqliteStore: the embedded store. Owns one SqliteDb (a file, WAL) and the three repositories on
// it (and the memory store). Entry point: SqliteStore::open(path, clock).
// Thread-safety: the repositories are safe for concurrent use from any non-I/O thread; calls block
// (run them on the DB pool via core/Offload.h). Destroy after every call has returned. `clock`
// must outlive the store.
#pragma once

#include <memory>
#include <string>

#include "core/Clock.h"
#include "core/Result.h"
#include "store/CharacterStore.h"
#include "store/ChatStore.h"
#include "store/MemoryStore.h"
#include "store/UserStore.h"
#include "store/sqlite/SqliteDb.h"

namespace troupe::store::sqlite {

class SqliteUserStore;
class SqliteCharacterStore;
class SqliteChatStore;
class SqliteMemoryStore;

class SqliteStore {
 public:
  // Opens or creates the database at `path` (":memory:" for a private in-memory one) and applies
  // pending migrations.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, const Clock& clock,
                                                   SqliteOptions opts = {});
  ~SqliteStore();
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  UserStore& users();
  CharacterStore& characters();
  ChatStore& chats();
  MemoryStore& memories();
  SqliteDb& db() { return *db_; }

 private:
  SqliteStore(std::unique_ptr<SqliteDb> db, const Clock& clock);

  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<SqliteUserStore> users_;
  std::unique_ptr<SqliteCharacterStore> characters_;
  std::unique_ptr<SqliteChatStore> chats_;
  std::unique_ptr<SqliteMemoryStore> memories_;
};

}  // namespace troupe::store::sqlite
