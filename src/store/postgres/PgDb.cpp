#include "store/postgres/PgDb.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <thread>

#include "store/postgres/PgMigrations.h"

namespace troupe::store::postgres {

Result<std::unique_ptr<PgDb>> PgDb::open(const std::string& conninfo, PgOptions opts) {
  return pg_guarded<Result<std::unique_ptr<PgDb>>>([&]() -> Result<std::unique_ptr<PgDb>> {
    if (conninfo.empty()) return make_error(Errc::bad_request, "postgres URL is empty");
    opts.pool_size = std::clamp(opts.pool_size, 1, 64);
    opts.acquire_timeout_ms = std::max(opts.acquire_timeout_ms, 0);
    opts.max_attempts = std::clamp(opts.max_attempts, 1, 20);
    opts.probe_interval_ms = std::clamp(opts.probe_interval_ms, 50, 60000);
    std::unique_ptr<PgDb> db(new PgDb(conninfo, opts));
    {
      auto lease = db->acquire();
      if (!lease.ok()) return lease.error();
      TROUPE_TRY_STATUS(migrate(**lease));
    }
    db->prober_ = std::jthread([raw = db.get()](std::stop_token stop) { raw->probe(stop); });
    return db;
  });
}

PgDb::~PgDb() {
  if (prober_.joinable()) {
    prober_.request_stop();
    prober_.join();
  }
  std::lock_guard lock(mu_);
  assert(static_cast<int>(idle_.size()) == open_count_ && "PgDb destroyed with calls running");
  idle_.clear();
}

PgDb::Lease::~Lease() {
  if (c_) db_->release(std::move(c_));
}

void PgDb::release(std::unique_ptr<PgConnection> c) noexcept {
  {
    std::lock_guard lock(mu_);
    if (c->broken() || c->in_transaction()) {
      // Never hand out a dead connection or one with a dangling transaction.
      if (c->broken()) mark_down("connection to the server lost");
      c.reset();
      --open_count_;
    } else {
      mark_up();
      idle_.push_back(std::move(c));
    }
  }
  cv_.notify_one();
}

void PgDb::mark_up() noexcept {
  down_.store(false, std::memory_order_relaxed);
}

void PgDb::mark_down(std::string_view why) noexcept {
  try {
    std::lock_guard lock(health_mu_);
    down_reason_ = why;
  } catch (...) {
    // keep the previous reason
  }
  down_.store(true, std::memory_order_relaxed);
}

std::string PgDb::health() const {
  if (!down_.load(std::memory_order_relaxed)) return {};
  std::lock_guard lock(health_mu_);
  return "store unavailable: " + (down_reason_.empty() ? std::string("no connection") : down_reason_);
}

void PgDb::probe(std::stop_token stop) {
  std::mutex m;
  std::unique_lock lock(m);
  std::condition_variable_any cv;  // only woken by a stop request
  while (!stop.stop_requested()) {
    cv.wait_for(lock, stop, std::chrono::milliseconds(opts_.probe_interval_ms), [] { return false; });
    if (stop.stop_requested() || !down_.load(std::memory_order_relaxed)) continue;
    lock.unlock();
    // A pooled connection found dead is dropped; a fresh one is opened. Success marks the store
    // up again when the lease returns to the pool.
    (void)pg_guarded<Status>([&]() -> Status {
      auto lease = acquire();
      if (!lease.ok()) return lease.error();
      return {};
    });
    lock.lock();
  }
}

Result<PgDb::Lease> PgDb::acquire() {
  std::unique_lock lock(mu_);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.acquire_timeout_ms);
  for (;;) {
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (c->check_alive()) return Lease(this, std::move(c));
      --open_count_;  // the server closed it (restart, idle timeout): open a fresh one
    }
    if (open_count_ < opts_.pool_size) break;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_count_ >= opts_.pool_size) {
      return make_error(Errc::unavailable, "no free database connection");
    }
  }
  ++open_count_;
  lock.unlock();
  auto c = PgConnection::open(conninfo_, opts_.connect);
  if (!c.ok()) {
    mark_down(c.error().message);
    lock.lock();
    --open_count_;
    lock.unlock();
    cv_.notify_one();
    return c.error();
  }
  return Lease(this, std::move(*c));
}

void PgDb::backoff(int attempt) {
  // 2, 4, 8 ... ms, at most 50 ms, so a bounded retry costs well under a second.
  const int ms = std::min(50, 1 << std::min(attempt, 6));
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace troupe::store::postgres
