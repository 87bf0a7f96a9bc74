#include "store/postgres/PgStore.h"

#include "store/postgres/PgCharacterStore.h"
#include "store/postgres/PgChatStore.h"
#include "store/postgres/PgMemoryStore.h"
#include "store/postgres/PgUserStore.h"

namespace troupe::store::postgres {

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& conninfo_url,
                                               const Clock& clock, int pool_size) {
  PgOptions opts;
  opts.pool_size = pool_size;
  return open(conninfo_url, clock, opts);
}

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& conninfo_url,
                                               const Clock& clock, const PgOptions& opts) {
  auto db = PgDb::open(conninfo_url, opts);
  if (!db.ok()) return db.error();
  return pg_guarded<Result<std::unique_ptr<PgStore>>>([&]() -> Result<std::unique_ptr<PgStore>> {
    return std::unique_ptr<PgStore>(new PgStore(std::move(*db), clock));
  });
}

PgStore::PgStore(std::unique_ptr<PgDb> db, const Clock& clock)
    : db_(std::move(db)),
      users_(std::make_unique<PgUserStore>(*db_, clock)),
      characters_(std::make_unique<PgCharacterStore>(*db_, clock)),
      chats_(std::make_unique<PgChatStore>(*db_, clock)),
      memories_(std::make_unique<PgMemoryStore>(*db_)) {}

// Repositories go before the pool they point into.
PgStore::~PgStore() {
  memories_.reset();
  chats_.reset();
  characters_.reset();
  users_.reset();
}

UserStore& PgStore::users() { return *users_; }
CharacterStore& PgStore::characters() { return *characters_; }
ChatStore& PgStore::chats() { return *chats_; }
MemoryStore& PgStore::memories() { return *memories_; }

}  // namespace troupe::store::postgres
