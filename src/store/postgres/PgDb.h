// PgDb: a bounded pool of PgConnections to one PostgreSQL database, and the transaction runner
// every repository call goes through. A lost connection answers `unavailable` (HTTP 503) and is
// dropped; the next call opens a fresh one. Writes run in READ COMMITTED transactions whose
// callers lock the rows they change (the chat row for tree changes); serialization failures and
// deadlocks re-run the whole transaction a bounded number of times. While the server cannot be
// reached, health() says so and one probe thread tries a connection every probe_interval_ms until
// it answers, so readiness recovers without traffic.
// Thread-safety: safe for concurrent use from any number of threads; calls block (run them on the
// DB pool via core/Offload.h, never on an I/O thread). Destroy only after every call has returned.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/Result.h"
#include "store/postgres/PgConnection.h"
#include "store/postgres/PgError.h"

namespace troupe::store::postgres {

struct PgOptions {
  int pool_size = 8;             // connections at most (1..64)
  int acquire_timeout_ms = 5000; // waiting for a free connection, then unavailable
  int max_attempts = 5;          // runs of a transaction that hit serialization failures
  int probe_interval_ms = 500;   // while unreachable: one connection attempt this often (50..60000)
  PgConnectOptions connect;
};

class PgDb {
 public:
  // Connects once (so a bad URL fails here) and applies pending migrations.
  static Result<std::unique_ptr<PgDb>> open(const std::string& conninfo, PgOptions opts = {});
  ~PgDb();
  PgDb(const PgDb&) = delete;
  PgDb& operator=(const PgDb&) = delete;

  // A borrowed connection, returned to the pool (or dropped when broken) on destruction.
  class Lease {
   public:
    Lease(PgDb* db, std::unique_ptr<PgConnection> c) noexcept : db_(db), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConnection& operator*() const { return *c_; }
    PgConnection* operator->() const { return c_.get(); }

   private:
    PgDb* db_;
    std::unique_ptr<PgConnection> c_;
  };
  Result<Lease> acquire();

  // Runs f(PgConnection&) -> Result<T> on a borrowed connection (autocommit statements). `f` must
  // only read: when the pooled connection turns out to be dead (server restarted, idle timeout)
  // it runs once more on a fresh one.
  template <class F>
  std::invoke_result_t<F, PgConnection&> read(F&& f) {
    using R = std::invoke_result_t<F, PgConnection&>;
    return pg_guarded<R>([&]() -> R {
      for (int attempt = 1;; ++attempt) {
        auto lease = acquire();
        if (!lease.ok()) return lease.error();
        R r = f(**lease);
        if (r.ok() || !(*lease)->broken() || attempt >= 2) return r;
      }
    });
  }

  // Runs f inside one READ COMMITTED transaction; commits only if f succeeded. `f` may run more
  // than once (serialization failure, deadlock), so it must not keep state between runs.
  template <class F>
  std::invoke_result_t<F, PgConnection&> write(F&& f) {
    return in_transaction("BEGIN ISOLATION LEVEL READ COMMITTED", std::forward<F>(f));
  }

  // Runs f on one consistent snapshot (REPEATABLE READ, read only).
  template <class F>
  std::invoke_result_t<F, PgConnection&> snapshot(F&& f) {
    return in_transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", std::forward<F>(f));
  }

  const PgOptions& options() const { return opts_; }

  // "" while the server answers; otherwise why not ("store unavailable: ..."). Non-blocking: safe
  // on an I/O thread (/readyz).
  std::string health() const;

 private:
  template <class F>
  std::invoke_result_t<F, PgConnection&> in_transaction(const char* begin, F&& f) {
    using R = std::invoke_result_t<F, PgConnection&>;
    return pg_guarded<R>([&]() -> R {
      for (int attempt = 1;; ++attempt) {
        auto lease = acquire();
        if (!lease.ok()) return lease.error();
        PgConnection& c = **lease;
        c.clear_sqlstate();
        bool began = false;
        R r = run_once(c, begin, f, began);
        if (r.ok() || attempt >= opts_.max_attempts) return r;
        // A connection found dead at BEGIN ran nothing: try a fresh one at once.
        if (!began && c.broken()) continue;
        if (!pg_retryable(c.last_sqlstate())) return r;
        backoff(attempt);
      }
    });
  }

  template <class F>
  static std::invoke_result_t<F, PgConnection&> run_once(PgConnection& c, const char* begin, F& f,
                                                         bool& began) {
    using R = std::invoke_result_t<F, PgConnection&>;
    if (auto b = c.exec(begin); !b.ok()) return b.error();
    began = true;
    R r = f(c);
    if (r.ok()) {
      if (auto cm = c.exec("COMMIT"); !cm.ok()) return cm.error();
      return r;
    }
    if (!c.broken() && c.in_transaction()) (void)c.exec("ROLLBACK");
    return r;
  }

  PgDb(std::string conninfo, PgOptions opts)
      : conninfo_(std::move(conninfo)), opts_(opts) {}
  void release(std::unique_ptr<PgConnection> c) noexcept;
  static void backoff(int attempt);
  void mark_up() noexcept;
  void mark_down(std::string_view why) noexcept;
  // The probe thread: every probe_interval_ms, while down, tries to borrow a working connection.
  void probe(std::stop_token stop);

  const std::string conninfo_;
  const PgOptions opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_
  int open_count_ = 0;                               // guarded by mu_; idle + lent + opening
  std::atomic<bool> down_{false};
  mutable std::mutex health_mu_;
  std::string down_reason_;                          // guarded by health_mu_
  std::jthread prober_;                              // started by open(); stopped first in ~PgDb
};

}  // namespace troupe::store::postgres
