// Stmt: a prepared statement borrowed from a Connection's cache (or owned when the cached one is in
// use). Binds by 1-based index, steps, reads columns by 0-based index; reset on destruction.
// Thread-safety: used by one thread at a time, like the Connection it came from.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/Result.h"

struct sqlite3_stmt;

namespace troupe::store::sqlite {

class Stmt {
 public:
  // `in_use` points at the cache slot flag (cleared on destruction); null = owned, finalized.
  Stmt(sqlite3_stmt* stmt, bool* in_use) noexcept : stmt_(stmt), in_use_(in_use) {}
  Stmt(Stmt&& o) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt();

  Stmt& bind_int(int idx, std::int64_t v);
  Stmt& bind_text(int idx, std::string_view v);  // stored as TEXT, embedded NULs kept
  Stmt& bind_blob(int idx, std::string_view v);  // empty -> zero-length BLOB
  Stmt& bind_null(int idx);

  // true = a row is available, false = done.
  Result<bool> step();
  // Steps to completion, ignoring rows.
  Status run();

  std::int64_t col_int(int col) const;
  std::string col_text(int col) const;  // NULL -> ""
  std::string col_blob(int col) const;  // NULL -> ""
  bool col_null(int col) const;

 private:
  void note_bind(int rc);

  sqlite3_stmt* stmt_ = nullptr;
  bool* in_use_ = nullptr;
  int bind_rc_ = 0;
};

}  // namespace troupe::store::sqlite
