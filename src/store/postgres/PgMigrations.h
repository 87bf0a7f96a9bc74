// PgMigrations: the PostgreSQL schema as numbered, append-only steps, recorded in
// schema_migrations(version, applied_at). migrate() takes a transaction-scoped advisory lock first,
// so several nodes starting at once apply each step exactly once.
// Thread-safety: free functions over a connection owned by the calling thread.
#pragma once

#include "core/Result.h"

namespace troupe::store::postgres {

class PgConnection;

int pg_latest_schema_version() noexcept;
// The highest applied step (0 for an empty database).
Result<int> pg_schema_version(PgConnection& c);
// Applies pending steps in one transaction; refuses a database newer than this build.
Status migrate(PgConnection& c);

}  // namespace troupe::store::postgres
