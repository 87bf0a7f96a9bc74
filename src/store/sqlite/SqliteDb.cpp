#include "store/sqlite/SqliteDb.h"

#include <vector>
#include <cassert>
#include <chrono>

#include "store/sqlite/Migrations.h"

namespace troupe::store::sqlite {

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path, SqliteOptions opts) {
  return guarded<Result<std::unique_ptr<SqliteDb>>>(
      [&]() -> Result<std::unique_ptr<SqliteDb>> {
        if (path.empty()) return make_error(Errc::bad_request, "database path is empty");
        // Every connection to ":memory:" is a separate database: keep exactly one.
        if (path == ":memory:") opts.max_connections = 1;
        if (opts.max_connections < 1) opts.max_connections = 1;
        if (opts.busy_timeout_ms < 0) opts.busy_timeout_ms = 0;
        std::unique_ptr<SqliteDb> db(new SqliteDb(path, opts));
        {
          auto lease = db->acquire();
          if (!lease.ok()) return lease.error();
          TROUPE_TRY_STATUS(migrate(**lease));
        }  // back to the pool before the writer starts
        {
          // Open the whole pool now: a fixed set of file descriptors from the start (and an
          // unopenable database fails here, not under load).
          std::vector<Lease> all;
          for (int i = 0; i < opts.max_connections; ++i) {
            auto l = db->acquire();
            if (!l.ok()) return l.error();
            all.push_back(std::move(*l));
          }
        }
        SqliteDb* raw = db.get();
        if (path == ":memory:") {
          // One connection is the whole database: the writer borrows it like everyone else.
          db->writer_ = std::make_unique<WriteQueue>(
              [raw](const std::function<Status(Connection&)>& group) -> Status {
                auto l = raw->acquire();
                if (!l.ok()) return l.error();
                return group(**l);
              },
              opts.max_write_group);
          return db;
        }
        // The writer keeps a connection of its own, outside the pool: a commit never waits for
        // a reader to hand a connection back, and the write statements stay prepared on it.
        // Its WAL writes go through WalWriteVfs: it commits with synchronous=FULL, on one thread.
        auto wc = Connection::open(path, opts.busy_timeout_ms, opts.coalesce_wal_writes);
        if (!wc.ok()) return wc.error();
        std::shared_ptr<Connection> writer_conn = std::move(*wc);
        db->writer_ = std::make_unique<WriteQueue>(
            [writer_conn](const std::function<Status(Connection&)>& group) -> Status {
              Status s = group(*writer_conn);
              // Never start the next group inside a transaction this one left open.
              if (writer_conn->in_transaction()) (void)writer_conn->exec("ROLLBACK");
              return s;
            },
            opts.max_write_group);
        return db;
      });
}

SqliteDb::~SqliteDb() {
  writer_.reset();
  std::lock_guard lock(mu_);
  assert(static_cast<int>(idle_.size()) == open_count_ && "SqliteDb destroyed with calls running");
  idle_.clear();
}

SqliteDb::Lease::~Lease() {
  if (c_) db_->release(std::move(c_));
}

void SqliteDb::release(std::unique_ptr<Connection> c) noexcept {
  {
    std::lock_guard lock(mu_);
    if (c->in_transaction()) {
      // Never hand out a connection with a dangling transaction.
      c.reset();
      --open_count_;
    } else {
      idle_.push_back(std::move(c));
    }
  }
  cv_.notify_one();
}

Result<SqliteDb::Lease> SqliteDb::acquire() {
  std::unique_lock lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.busy_timeout_ms);
  for (;;) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
    if (open_count_ < opts_.max_connections) break;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_count_ >= opts_.max_connections) {
      return make_error(Errc::unavailable, "no free database connection");
    }
  }
  ++open_count_;
  lock.unlock();
  auto c = Connection::open(path_, opts_.busy_timeout_ms);
  if (!c.ok()) {
    lock.lock();
    --open_count_;
    lock.unlock();
    cv_.notify_one();
    return c.error();
  }
  return Lease(this, std::move(*c));
}

}  // namespace troupe::store::sqlite
