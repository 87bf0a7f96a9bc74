#include "store/sqlite/SqliteError.h"

#include <sqlite3.h>

#include <string>

namespace troupe::store::sqlite {

Error sqlite_error(int rc, sqlite3* db, std::string_view context) {
  Errc code = Errc::internal;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = Errc::unavailable;
      break;
    case SQLITE_CONSTRAINT:
      code = Errc::conflict;
      break;
    default:
      break;
  }
  std::string msg(context);
  msg += ": ";
  if (db != nullptr && (sqlite3_errcode(db) & 0xff) == (rc & 0xff)) {
    msg += sqlite3_errmsg(db);
  } else {
    msg += sqlite3_errstr(rc);
  }
  return Error{code, std::move(msg)};
}

}  // namespace troupe::store::sqlite
