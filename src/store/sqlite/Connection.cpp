#include "store/sqlite/Connection.h"

#include <sqlite3.h>

#include "store/sqlite/SqliteError.h"
#include "store/sqlite/WalWriteVfs.h"

namespace troupe::store::sqlite {
namespace {

// SQLite's allocation statistics take one process-wide mutex on every malloc and free, which the
// DB threads and the writer then contend for; nothing reads those statistics. Must run before
// the library initializes (the first open); a later call is refused harmlessly.
void configure_library_once() {
  static const int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)rc;
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path,
                                                     int busy_timeout_ms,
                                                     bool coalesce_wal_writes) {
  configure_library_once();
  // nullptr (the default VFS) when the layer could not be registered.
  const char* vfs = coalesce_wal_writes ? WalWriteVfs::ensure_registered() : nullptr;
  sqlite3* db = nullptr;
  // NOMUTEX: SqliteDb guarantees one thread per connection at a time.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(rc, db, "open " + path);
    sqlite3_close_v2(db);
    return e;
  }
  std::unique_ptr<Connection> c(new Connection(db));
  sqlite3_busy_timeout(db, busy_timeout_ms);
  // journal_mode=WAL is persistent in the file; an in-memory database answers "memory".
  TROUPE_TRY_STATUS(c->exec("PRAGMA journal_mode=WAL"));
  TROUPE_TRY_STATUS(c->exec("PRAGMA synchronous=FULL"));
  TROUPE_TRY_STATUS(c->exec("PRAGMA foreign_keys=ON"));
  TROUPE_TRY_STATUS(c->exec("PRAGMA temp_store=MEMORY"));
  return c;
}

Connection::~Connection() {
  for (auto& [sql, slot] : cache_) sqlite3_finalize(slot->stmt);
  sqlite3_close_v2(db_);
}

Result<Stmt> Connection::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second->in_use) {
    it->second->in_use = true;
    return Stmt(it->second->stmt, &it->second->in_use);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqlite_error(rc, db_, "prepare");
  }
  if (it != cache_.end()) return Stmt(stmt, nullptr);  // cached one busy: owned copy
  auto slot = std::make_unique<Slot>();
  slot->stmt = stmt;
  slot->in_use = true;
  bool* flag = &slot->in_use;
  cache_.emplace(std::string(sql), std::move(slot));
  return Stmt(stmt, flag);
}

Status Connection::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Error e = sqlite_error(rc, nullptr, "exec");
    e.message = "exec: " + msg;
    return e;
  }
  return {};
}

std::int64_t Connection::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

int Connection::changes() const { return sqlite3_changes(db_); }

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace troupe::store::sqlite
