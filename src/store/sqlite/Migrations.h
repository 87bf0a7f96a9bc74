// Migrations: the numbered schema changes, kept in code and applied at open. The applied version
// lives in PRAGMA user_version; pending steps run in one IMMEDIATE transaction, so concurrent opens
// and restarts are idempotent. Thread-safety: call with a connection owned by the calling thread.
#pragma once

#include "core/Result.h"

namespace troupe::store::sqlite {

class Connection;

// The schema version this build writes.
int latest_schema_version() noexcept;
// Brings the database up to latest_schema_version(); a newer database is refused.
Status migrate(Connection& c);
// The database's current user_version.
Result<int> schema_version(Connection& c);

}  // namespace troupe::store::sqlite
