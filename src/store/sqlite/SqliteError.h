// Maps SQLite result codes to troupe errors: busy/locked -> unavailable, constraint -> conflict,
// everything else -> internal. Also the exception guard every public store call runs inside.
// Thread-safety: free functions, safe from any thread.
#pragma once

#include <exception>
#include <string_view>

#include "core/Error.h"

struct sqlite3;

namespace troupe::store::sqlite {

// `db` may be null; when given, its last error message is included.
Error sqlite_error(int rc, sqlite3* db, std::string_view context);

// Runs `f` (returning a Result) and turns any escaping exception into Errc::internal.
template <class R, class F>
R guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error{Errc::internal, std::string("store: ") + e.what()};
  } catch (...) {
    return Error{Errc::internal, "store: unknown exception"};
  }
}

}  // namespace troupe::store::sqlite
