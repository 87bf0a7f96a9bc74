// PgConnection: one libpq connection configured for Troupe (statement and lock timeouts, UTC) with
// a cache of server-side prepared statements keyed by SQL text. Every value travels as a bound
// parameter (text format; bytea in binary format), never inside the SQL text.
// Thread-safety: not thread-safe; PgDb lends each connection to one thread at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/Result.h"
#include "store/postgres/PgResult.h"

struct pg_conn;

namespace troupe::store::postgres {

// One bound parameter: an integer, a text value, a bytea value or NULL.
class PgParam {
 public:
  PgParam(int v) : value_(std::to_string(v)) {}            // NOLINT implicit
  PgParam(std::int64_t v) : value_(std::to_string(v)) {}   // NOLINT implicit
  PgParam(std::string_view s) : value_(s) {}               // NOLINT implicit
  PgParam(const std::string& s) : value_(s) {}             // NOLINT implicit
  PgParam(const char* s) : value_(s) {}                    // NOLINT implicit
  static PgParam bytea(std::string_view bytes) {
    PgParam p{std::string(bytes)};
    p.binary_ = true;
    return p;
  }
  static PgParam null() {
    PgParam p{std::string()};
    p.null_ = true;
    return p;
  }

  const std::string& value() const { return value_; }
  bool binary() const { return binary_; }
  bool is_null() const { return null_; }

 private:
  std::string value_;
  bool binary_ = false;
  bool null_ = false;
};

struct PgConnectOptions {
  int connect_timeout_s = 5;        // unless the URL sets connect_timeout
  int statement_timeout_ms = 30000; // a runaway statement fails as unavailable
  int lock_timeout_ms = 10000;      // waiting for a row lock
};

class PgConnection {
 public:
  // `conninfo`: a postgres:// URL or a "key=value ..." string.
  static Result<std::unique_ptr<PgConnection>> open(const std::string& conninfo,
                                                    const PgConnectOptions& opts);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement through a cached prepared statement; $1.. bind to `params`.
  Result<PgResult> query(std::string_view sql, std::initializer_list<PgParam> params = {});
  Result<PgResult> query(std::string_view sql, const std::vector<PgParam>& params);
  // Runs one or more statements without parameters (transaction control, schema).
  Status exec(const char* sql);

  // True once the server connection is gone: the pool drops it instead of reusing it.
  bool broken() const;
  bool in_transaction() const;
  // Reads whatever the server sent while idle (e.g. a shutdown notice); false when it is gone.
  bool check_alive();
  // SQLSTATE of the last failed call ("" for a lost connection); cleared by clear_sqlstate().
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  void clear_sqlstate() { last_sqlstate_.clear(); }

 private:
  explicit PgConnection(pg_conn* c) : c_(c) {}
  Error fail(const void* res, std::string_view context);

  pg_conn* c_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::string last_sqlstate_;
};

}  // namespace troupe::store::postgres
