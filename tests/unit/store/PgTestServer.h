// PgTestServer: a private PostgreSQL server for the store tests, started on first use and stopped
// (SIGINT, then wait) when the test program ends. It runs `initdb` into a fresh directory under
// /tmp, then `postgres -D <dir>/data -k <dir> -p <free port> -c listen_addresses=127.0.0.1
// -c fsync=off` as a child process, waits until it accepts connections and hands out one new,
// empty database per call to create_database().
//
// Binaries: $TROUPE_PG_BIN if set, else the newest /usr/lib/postgresql/<version>/bin holding
// initdb and postgres (Debian package `postgresql`, installed by scripts/install-deps). When they
// are missing, create_database() fails with a message saying so: the tests fail, never skip.
//
// Root: initdb and postgres refuse to run as root. When the tests run as root, the children drop
// to the `postgres` system user (created by the Debian package) with setgid/setuid before exec,
// and the server directory is handed to that user. Nothing else needs privileges.
//
// Thread-safety: create_database() is safe from any thread; the server is shared by every test
// of the program.
#pragma once

#include <string>

#include "core/Result.h"

namespace troupe::store::testing {

class PgTestServer {
 public:
  // A URL (postgres://troupe@127.0.0.1:<port>/<new database>) of a new empty database, starting
  // the server first if needed.
  static Result<std::string> create_database();
  // Stops the server if it runs (also done automatically at exit).
  static void stop();
  // Stops the running server but keeps its data; resume() starts it again on the same port.
  // For tests of an unreachable database.
  static Status pause();
  static Status resume();
};

}  // namespace troupe::store::testing
