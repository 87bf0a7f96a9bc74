#include "store/postgres/PgResult.h"

#include <libpq-fe.h>

#include <charconv>

namespace troupe::store::postgres {

void PgResult::Free::operator()(pg_result* r) const noexcept { PQclear(r); }

bool PgResult::failed() const {
  if (!r_) return true;
  const ExecStatusType st = PQresultStatus(r_.get());
  return st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK;
}

int PgResult::rows() const { return PQntuples(r_.get()); }

std::int64_t PgResult::affected() const {
  const char* s = PQcmdTuples(r_.get());
  std::int64_t n = 0;
  if (s != nullptr) std::from_chars(s, s + std::char_traits<char>::length(s), n);
  return n;
}

std::int64_t PgResult::col_int(int row, int col) const {
  if (PQgetisnull(r_.get(), row, col)) return 0;
  const char* s = PQgetvalue(r_.get(), row, col);
  const int len = PQgetlength(r_.get(), row, col);
  if (len == 1 && (s[0] == 't' || s[0] == 'f')) return s[0] == 't' ? 1 : 0;  // boolean
  std::int64_t v = 0;
  std::from_chars(s, s + len, v);
  return v;
}

std::string PgResult::col_text(int row, int col) const {
  if (PQgetisnull(r_.get(), row, col)) return {};
  return std::string(PQgetvalue(r_.get(), row, col),
                     static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
}

std::string PgResult::col_bytea(int row, int col) const {
  if (PQgetisnull(r_.get(), row, col)) return {};
  std::size_t n = 0;
  unsigned char* p = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)), &n);
  if (p == nullptr) throw std::bad_alloc();
  std::string out(reinterpret_cast<const char*>(p), n);
  PQfreemem(p);
  return out;
}

bool PgResult::col_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }

}  // namespace troupe::store::postgres
