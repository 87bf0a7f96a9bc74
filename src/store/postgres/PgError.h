// Maps PostgreSQL failures to troupe errors: connection loss, shutdown, lock timeouts and
// exhausted resources -> unavailable (HTTP 503); integrity violations (class 23) -> conflict;
// invalid text (class 22) -> bad_request; everything else -> internal. Serialization failures and
// deadlocks are marked retryable. Also the exception guard every public store call runs inside.
// Thread-safety: free functions, safe from any thread.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "core/Error.h"

namespace troupe::store::postgres {

// `sqlstate` is the five-character SQLSTATE ("" when the server sent none, e.g. a lost connection).
Error pg_error(std::string_view sqlstate, std::string_view message, std::string_view context);
// 40001 serialization_failure and 40P01 deadlock_detected: the transaction may simply be re-run.
bool pg_retryable(std::string_view sqlstate) noexcept;
// Connection-level failures: the connection must be dropped.
bool pg_connection_lost(std::string_view sqlstate) noexcept;

// Runs `f` (returning a Result) and turns any escaping exception into Errc::internal.
template <class R, class F>
R pg_guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error{Errc::internal, std::string("postgres store: ") + e.what()};
  } catch (...) {
    return Error{Errc::internal, "postgres store: unknown exception"};
  }
}

}  // namespace troupe::store::postgres
