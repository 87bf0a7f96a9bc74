#include "store/sqlite/Stmt.h"

#include <sqlite3.h>

#include "store/sqlite/SqliteError.h"

namespace troupe::store::sqlite {

Stmt::Stmt(Stmt&& o) noexcept : stmt_(o.stmt_), in_use_(o.in_use_), bind_rc_(o.bind_rc_) {
  o.stmt_ = nullptr;
  o.in_use_ = nullptr;
}

Stmt::~Stmt() {
  if (stmt_ == nullptr) return;
  if (in_use_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

void Stmt::note_bind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Stmt& Stmt::bind_int(int idx, std::int64_t v) {
  note_bind(sqlite3_bind_int64(stmt_, idx, v));
  return *this;
}

Stmt& Stmt::bind_text(int idx, std::string_view v) {
  // A non-null pointer even for "" so the value is an empty TEXT, not NULL.
  note_bind(sqlite3_bind_text64(stmt_, idx, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT,
                                SQLITE_UTF8));
  return *this;
}

Stmt& Stmt::bind_blob(int idx, std::string_view v) {
  if (v.empty()) {
    note_bind(sqlite3_bind_zeroblob(stmt_, idx, 0));
  } else {
    note_bind(sqlite3_bind_blob64(stmt_, idx, v.data(), v.size(), SQLITE_TRANSIENT));
  }
  return *this;
}

Stmt& Stmt::bind_null(int idx) {
  note_bind(sqlite3_bind_null(stmt_, idx));
  return *this;
}

Result<bool> Stmt::step() {
  sqlite3* db = sqlite3_db_handle(stmt_);
  if (bind_rc_ != SQLITE_OK) return sqlite_error(bind_rc_, db, "bind");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(rc, db, "step");
}

Status Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r.ok()) return r.error();
    if (!*r) return {};
  }
}

std::int64_t Stmt::col_int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Stmt::col_text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::string Stmt::col_blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

bool Stmt::col_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

}  // namespace troupe::store::sqlite
