#include "store/postgres/PgError.h"

#include <algorithm>

namespace troupe::store::postgres {

bool pg_retryable(std::string_view sqlstate) noexcept {
  return sqlstate == "40001" || sqlstate == "40P01";
}

bool pg_connection_lost(std::string_view sqlstate) noexcept {
  // 08: connection exception; 57P01..57P03: admin/crash shutdown, cannot connect now.
  return sqlstate.empty() || sqlstate.substr(0, 2) == "08" || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03";
}

Error pg_error(std::string_view sqlstate, std::string_view message, std::string_view context) {
  Errc code = Errc::internal;
  const std::string_view cls = sqlstate.substr(0, std::min<std::size_t>(2, sqlstate.size()));
  if (pg_connection_lost(sqlstate) || pg_retryable(sqlstate) || cls == "53" ||
      sqlstate == "55P03" || sqlstate == "57014") {
    // Lost connection, shutdown, resources, lock_not_available, statement timeout.
    code = Errc::unavailable;
  } else if (cls == "23") {
    code = Errc::conflict;
  } else if (cls == "22") {
    code = Errc::bad_request;
  }
  std::string msg(context);
  msg += ": ";
  if (!sqlstate.empty()) {
    msg += sqlstate;
    msg += ' ';
  }
  // libpq messages end with a newline.
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.remove_suffix(1);
  }
  msg += message;
  return Error{code, std::move(msg)};
}

}  // namespace troupe::store::postgres
