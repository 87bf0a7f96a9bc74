#include "store/sqlite/SqliteStore.h"

#include "store/sqlite/SqliteCharacterStore.h"
#include "store/sqlite/SqliteChatStore.h"
#include "store/sqlite/SqliteMemoryStore.h"
#include "store/sqlite/SqliteUserStore.h"

namespace troupe::store::sqlite {

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       const Clock& clock, SqliteOptions opts) {
  auto db = SqliteDb::open(path, opts);
  if (!db.ok()) return db.error();
  return guarded<Result<std::unique_ptr<SqliteStore>>>(
      [&]() -> Result<std::unique_ptr<SqliteStore>> {
        return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(*db), clock));
      });
}

SqliteStore::SqliteStore(std::unique_ptr<SqliteDb> db, const Clock& clock)
    : db_(std::move(db)),
      users_(std::make_unique<SqliteUserStore>(*db_, clock)),
      characters_(std::make_unique<SqliteCharacterStore>(*db_, clock)),
      chats_(std::make_unique<SqliteChatStore>(*db_, clock)),
      memories_(std::make_unique<SqliteMemoryStore>(*db_)) {}

// Repositories go before the database they point into.
SqliteStore::~SqliteStore() {
  memories_.reset();
  chats_.reset();
  characters_.reset();
  users_.reset();
}

UserStore& SqliteStore::users() { return *users_; }
CharacterStore& SqliteStore::characters() { return *characters_; }
ChatStore& SqliteStore::chats() { return *chats_; }
MemoryStore& SqliteStore::memories() { return *memories_; }

}  // namespace troupe::store::sqlite
