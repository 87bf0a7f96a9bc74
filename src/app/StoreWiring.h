// StoreWiring: opens the store named by store.url — the embedded SQLite store under
// store.data_dir ("" or "sqlite") or the shared PostgreSQL store ("postgres://...") — and hands out
// its repositories, memories included, on either backend.
// Thread-safety: open() and the destructor on the main thread; the repositories follow their
// store's rules (blocking calls, run on the DB pool).
#pragma once

#include <memory>
#include <string>

#include "core/Clock.h"
#include "core/Config.h"
#include "core/Metrics.h"
#include "core/Result.h"
#include "store/CharacterStore.h"
#include "store/ChatStore.h"
#include "store/MemoryStore.h"
#include "store/UserStore.h"

namespace troupe::store::sqlite {
class SqliteStore;
}
namespace troupe::store::postgres {
class PgStore;
}

namespace troupe::app {

class StoreWiring {
 public:
  // True for "postgres://..." and "postgresql://..." URLs.
  static bool is_postgres_url(const std::string& url);
  // Fails (unavailable / bad_request) when the store cannot be opened: an unknown scheme, an
  // unreachable PostgreSQL server, a data dir that cannot be created.
  static Result<std::unique_ptr<StoreWiring>> open(const Config& config, const Clock& clock);
  ~StoreWiring();

  store::UserStore& users();
  store::CharacterStore& characters();
  store::ChatStore& chats();
  store::MemoryStore* memories();  // never null
  bool shared() const { return pg_ != nullptr; }  // several nodes may use this store
  const char* name() const { return pg_ ? "postgres" : "sqlite"; }
  void register_metrics(MetricsRegistry& metrics);
  // Blocks until every write queued so far (asynchronous ones included) has committed or failed
  // and its completion has run. Call at shutdown before the I/O contexts go away. Main thread.
  void flush_writes();
  // "" while the store answers; otherwise why not (PostgreSQL unreachable). Non-blocking.
  std::string health() const;

 private:
  StoreWiring() = default;
  std::unique_ptr<store::sqlite::SqliteStore> sqlite_;
  std::unique_ptr<store::postgres::PgStore> pg_;
};

}  // namespace troupe::app
