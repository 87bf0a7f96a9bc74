#include "store/postgres/PgConnection.h"

#include <libpq-fe.h>

#include <vector>

#include "store/postgres/PgError.h"

namespace troupe::store::postgres {

Result<std::unique_ptr<PgConnection>> PgConnection::open(const std::string& conninfo,
                                                         const PgConnectOptions& opts) {
  const std::string timeout = std::to_string(opts.connect_timeout_s);
  // Later pairs override earlier ones: the URL's own settings win over these defaults.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
                        nullptr};
  const char* values[] = {timeout.c_str(), "troupe", conninfo.c_str(), "UTF8", nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  if (c == nullptr) return make_error(Errc::unavailable, "postgres: out of memory");
  std::unique_ptr<PgConnection> conn(new PgConnection(c));
  // Server notices (e.g. "relation already exists, skipping") are not errors: keep stderr quiet.
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  if (PQstatus(c) != CONNECTION_OK) {
    return pg_error("", PQerrorMessage(c), "postgres connect");
  }
  // Numbers only: no user data in this text.
  const std::string setup = "SET statement_timeout = " + std::to_string(opts.statement_timeout_ms) +
                            "; SET lock_timeout = " + std::to_string(opts.lock_timeout_ms) +
                            "; SET TIME ZONE 'UTC'";
  TROUPE_TRY_STATUS(conn->exec(setup.c_str()));
  return conn;
}

PgConnection::~PgConnection() { PQfinish(c_); }

Error PgConnection::fail(const void* res, std::string_view context) {
  const auto* r = static_cast<const PGresult*>(res);
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state != nullptr ? state : "";
  const char* msg = r != nullptr ? PQresultErrorMessage(r) : nullptr;
  if (msg == nullptr || *msg == '\0') msg = PQerrorMessage(c_);
  if (PQstatus(c_) != CONNECTION_OK) last_sqlstate_.clear();  // the connection is gone
  return pg_error(last_sqlstate_, msg, context);
}

Result<PgResult> PgConnection::query(std::string_view sql, std::initializer_list<PgParam> params) {
  return query(sql, std::vector<PgParam>(params));
}

Result<PgResult> PgConnection::query(std::string_view sql, const std::vector<PgParam>& params) {
  auto it = prepared_.find(std::string(sql));
  if (it == prepared_.end()) {
    std::string name = "troupe_" + std::to_string(prepared_.size() + 1);
    const std::string text(sql);
    PgResult r(PQprepare(c_, name.c_str(), text.c_str(), 0, nullptr));
    if (r.failed()) return fail(r.raw(), "prepare");
    it = prepared_.emplace(text, std::move(name)).first;
  }
  const int n = static_cast<int>(params.size());
  std::vector<const char*> values(n);
  std::vector<int> lengths(n), formats(n);
  int i = 0;
  for (const PgParam& p : params) {
    if (!p.binary() && p.value().find('\0') != std::string::npos) {
      return make_error(Errc::bad_request, "text must not contain NUL bytes");
    }
    values[i] = p.is_null() ? nullptr : p.value().c_str();
    lengths[i] = static_cast<int>(p.value().size());
    formats[i] = p.binary() ? 1 : 0;
    ++i;
  }
  PgResult r(PQexecPrepared(c_, it->second.c_str(), n, values.data(), lengths.data(),
                            formats.data(), 0));
  if (r.failed()) return fail(r.raw(), "query");
  return r;
}

Status PgConnection::exec(const char* sql) {
  PgResult r(PQexec(c_, sql));
  if (r.failed()) return fail(r.raw(), "exec");
  return {};
}

bool PgConnection::broken() const { return PQstatus(c_) != CONNECTION_OK; }

bool PgConnection::check_alive() {
  if (PQstatus(c_) != CONNECTION_OK) return false;
  if (PQconsumeInput(c_) == 0) return false;
  return PQstatus(c_) == CONNECTION_OK;
}

bool PgConnection::in_transaction() const {
  return PQtransactionStatus(c_) != PQTRANS_IDLE;
}

}  // namespace troupe::store::postgres
