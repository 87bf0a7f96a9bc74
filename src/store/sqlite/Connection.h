// Connection: one sqlite3 handle configured for Troupe (WAL, synchronous=FULL, foreign keys,
// busy timeout) with a prepared-statement cache keyed by SQL text.
// Thread-safety: not thread-safe; SqliteDb lends each connection to one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/Result.h"
#include "store/sqlite/Stmt.h"

struct sqlite3;
struct sqlite3_stmt;

namespace troupe::store::sqlite {

class Connection {
 public:
  // `coalesce_wal_writes`: open through WalWriteVfs (one write call per commit's WAL frames);
  // only for a connection that keeps synchronous=FULL and runs each transaction on one thread.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, int busy_timeout_ms,
                                                  bool coalesce_wal_writes = false);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A cached statement; if the cached one is still in use, a fresh owned one.
  Result<Stmt> prepare(std::string_view sql);
  // Runs one or more statements without caching (schema, pragmas).
  Status exec(const char* sql);

  std::int64_t last_insert_id() const;
  int changes() const;  // rows changed by the last INSERT/UPDATE/DELETE
  bool in_transaction() const;
  sqlite3* handle() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  struct Slot {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_;
  // Slots are heap nodes: Stmt keeps a pointer to `in_use`, which must not move on rehash.
  // Looked up by the statement's text as a string_view: no key string is made per prepare.
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<Slot>, TextHash, std::equal_to<>> cache_;
};

}  // namespace troupe::store::sqlite
