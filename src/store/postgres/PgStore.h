// PgStore: the shared store for multi-node deployments. Owns one PgDb (a bounded pool of libpq
// connections) and the four repositories on it (users, characters, chats, memories). Entry point:
// PgStore::open(conninfo_url, clock, pool_size).
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
#include "store/postgres/PgDb.h"

namespace troupe::store::postgres {

class PgUserStore;
class PgCharacterStore;
class PgChatStore;
class PgMemoryStore;

class PgStore {
 public:
  // Connects to `conninfo_url` ("postgres://user@host:port/db?..." or "key=value ..."), applies
  // pending migrations and keeps at most `pool_size` connections (1..64). An unreachable server
  // answers unavailable.
  static Result<std::unique_ptr<PgStore>> open(const std::string& conninfo_url, const Clock& clock,
                                               int pool_size = 8);
  static Result<std::unique_ptr<PgStore>> open(const std::string& conninfo_url, const Clock& clock,
                                               const PgOptions& opts);
  ~PgStore();
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  UserStore& users();
  CharacterStore& characters();
  ChatStore& chats();
  MemoryStore& memories();
  PgDb& db() { return *db_; }

 private:
  PgStore(std::unique_ptr<PgDb> db, const Clock& clock);

  std::unique_ptr<PgDb> db_;
  std::unique_ptr<PgUserStore> users_;
  std::unique_ptr<PgCharacterStore> characters_;
  std::unique_ptr<PgChatStore> chats_;
  std::unique_ptr<PgMemoryStore> memories_;
};

}  // namespace troupe::store::postgres
