// PgResult: the rows of one executed statement (text result format). Columns by 0-based index;
// bytea columns are decoded from the server's hex text form.
// Thread-safety: a value owned by one thread; no shared state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

struct pg_result;

namespace troupe::store::postgres {

class PgResult {
 public:
  explicit PgResult(pg_result* r) noexcept : r_(r) {}
  PgResult(PgResult&&) noexcept = default;
  PgResult& operator=(PgResult&&) noexcept = default;

  // True when the statement did not complete (null result or an error status).
  bool failed() const;
  const pg_result* raw() const { return r_.get(); }

  int rows() const;
  bool empty() const { return rows() == 0; }
  // Rows inserted, updated or deleted by the statement.
  std::int64_t affected() const;

  std::int64_t col_int(int row, int col) const;  // NULL -> 0
  std::string col_text(int row, int col) const;  // NULL -> ""
  std::string col_bytea(int row, int col) const; // NULL -> ""
  bool col_null(int row, int col) const;

 private:
  struct Free {
    void operator()(pg_result* r) const noexcept;
  };
  std::unique_ptr<pg_result, Free> r_;
};

}  // namespace troupe::store::postgres
