// SqliteDb: one database file and a small pool of configured connections. Each read borrows a
// connection for its duration, so every calling thread works on its own connection (WAL lets
// readers run beside the single writer). Writes go to one writer thread (WriteQueue) that runs
// whatever is queued in one BEGIN IMMEDIATE transaction and one commit (group commit); write()
// returns only after its group's commit is durable.
// Thread-safety: safe for concurrent use from any number of threads; calls block (run them on the
// DB pool, never on an I/O thread). Destroy only after every call has returned.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/Result.h"
#include "store/sqlite/Connection.h"
#include "store/sqlite/SqliteError.h"
#include "store/sqlite/Transaction.h"
#include "store/sqlite/WriteQueue.h"

namespace troupe::store::sqlite {

struct SqliteOptions {
  int busy_timeout_ms = 5000;  // waiting for the write lock (and for a free connection)
  // Pooled reader connections (at least the DB threads and the memory engine's threads); the
  // writer has one more of its own. ":memory:" uses one connection for everything.
  int max_connections = 12;
  int max_write_group = 64;    // write calls sharing one transaction and commit at most
  // The writer's connection writes each commit's WAL frames in one call (WalWriteVfs).
  bool coalesce_wal_writes = true;
};

class SqliteDb {
 public:
  // Opens (creating if needed) the file at `path` and applies pending migrations.
  // ":memory:" gives a private in-memory database (tests).
  static Result<std::unique_ptr<SqliteDb>> open(const std::string& path, SqliteOptions opts = {});
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // A borrowed connection, returned to the pool on destruction.
  class Lease {
   public:
    Lease(SqliteDb* db, std::unique_ptr<Connection> c) noexcept : db_(db), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() const { return *c_; }
    Connection* operator->() const { return c_.get(); }

   private:
    SqliteDb* db_;
    std::unique_ptr<Connection> c_;
  };
  Result<Lease> acquire();

  // Runs f(Connection&) -> Result<T> on a borrowed connection (autocommit reads).
  template <class F>
  std::invoke_result_t<F, Connection&> read(F&& f) {
    using R = std::invoke_result_t<F, Connection&>;
    return guarded<R>([&]() -> R {
      auto lease = acquire();
      if (!lease.ok()) return lease.error();
      return f(**lease);
    });
  }

  // Runs f(Connection&) -> Result<T> on the writer thread inside a write transaction (shared with
  // other queued writes, in a savepoint of its own); its changes are kept only if f succeeded, and
  // the call returns once they are committed. f must not call write() itself.
  template <class F>
  std::invoke_result_t<F, Connection&> write(F&& f) {
    using R = std::invoke_result_t<F, Connection&>;
    return guarded<R>([&]() -> R {
      std::optional<R> out;
      const std::function<bool(Connection&)> job = [&](Connection& c) {
        out.emplace(f(c));
        return out->ok();
      };
      Status s = writer_->submit(job);
      if (!s.ok()) return s.error();
      if (!out) return make_error(Errc::internal, "write did not run");
      return std::move(*out);
    });
  }

  // write() without blocking the caller: f(Connection&) -> Result<T> runs on the writer thread
  // like write(), and done(Result<T>) runs on the writer thread once the group committed (or with
  // the error). `done` must be short (post a completion); f and done are moved into the queue.
  template <class F, class Done>
  void write_async(F f, Done done) {
    using R = std::invoke_result_t<F&, Connection&>;
    auto out = std::make_shared<std::optional<R>>();
    std::function<bool(Connection&)> job = [out, f = std::move(f)](Connection& c) mutable {
      out->emplace(guarded<R>([&]() -> R { return f(c); }));
      return (*out)->ok();
    };
    std::function<void(Status)> finish = [out, done = std::move(done)](Status s) mutable {
      if (!s.ok()) {
        done(R(s.error()));
      } else if (!*out) {
        done(R(make_error(Errc::internal, "write did not run")));
      } else {
        done(std::move(**out));
      }
    };
    writer_->submit_async(std::move(job), std::move(finish));
  }

  // Returns once every write queued before the call has committed or failed and its completion
  // ran (the queue is first in, first out). Not from the writer thread.
  void flush_writes() { (void)writer_->submit([](Connection&) { return true; }); }

  // Group-commit figures: commits and the writes they carried.
  std::uint64_t write_groups() const { return writer_->groups(); }
  std::uint64_t write_jobs() const { return writer_->jobs(); }
  // See WriteQueue::set_histograms.
  void set_write_histograms(Histogram* wait, Histogram* group) { writer_->set_histograms(wait, group); }

  // Runs f(Connection&) -> Result<T> on one consistent read snapshot (several statements).
  template <class F>
  std::invoke_result_t<F, Connection&> snapshot(F&& f) {
    return in_transaction(Transaction::Mode::read, std::forward<F>(f));
  }

  const std::string& path() const { return path_; }

 private:
  template <class F>
  std::invoke_result_t<F, Connection&> in_transaction(Transaction::Mode mode, F&& f) {
    using R = std::invoke_result_t<F, Connection&>;
    return guarded<R>([&]() -> R {
      auto lease = acquire();
      if (!lease.ok()) return lease.error();
      Transaction tx(**lease);
      if (auto b = tx.begin(mode); !b.ok()) return b.error();
      R r = f(**lease);
      if (!r.ok()) return r;
      if (auto c = tx.commit(); !c.ok()) return c.error();
      return r;
    });
  }

  SqliteDb(std::string path, SqliteOptions opts) : path_(std::move(path)), opts_(opts) {}
  void release(std::unique_ptr<Connection> c) noexcept;

  const std::string path_;
  const SqliteOptions opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  int open_count_ = 0;                             // guarded by mu_; idle + lent + opening
  std::unique_ptr<WriteQueue> writer_;             // last: stops before the pool goes
};

}  // namespace troupe::store::sqlite
