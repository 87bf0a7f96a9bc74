#include "store/sqlite/WriteQueue.h"

#include <pthread.h>

#include <cassert>
#include <exception>

#include "core/Metrics.h"
#include "store/sqlite/Connection.h"

namespace troupe::store::sqlite {
namespace {

thread_local bool t_is_writer = false;

Status run_sql(Connection& c, const char* sql) {
  auto st = c.prepare(sql);
  if (!st.ok()) return st.error();
  return st->run();
}

}  // namespace

WriteQueue::WriteQueue(Runner run_on_connection, int max_group)
    : run_(std::move(run_on_connection)), max_group_(max_group < 1 ? 1 : max_group) {
  thread_ = std::thread([this] { loop(); });
}

WriteQueue::~WriteQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

Status WriteQueue::submit(const std::function<bool(Connection&)>& job) {
  assert(!t_is_writer && "a write job must not submit another write");
  auto j = std::make_shared<Job>();
  j->fn = &job;
  j->queued = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return make_error(Errc::unavailable, "database is closing");
    queue_.push_back(j);
  }
  work_cv_.notify_one();
  std::unique_lock jl(j->m);
  j->cv.wait(jl, [&] { return j->done; });
  return j->result;
}

void WriteQueue::submit_async(std::function<bool(Connection&)> job, std::function<void(Status)> done) {
  assert(!t_is_writer && "a write job must not submit another write");
  auto j = std::make_shared<Job>();
  j->owned_fn = std::move(job);
  j->fn = &j->owned_fn;
  j->done_fn = std::move(done);
  j->queued = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(j));
      j = nullptr;
    }
  }
  if (j) {
    j->done_fn(make_error(Errc::unavailable, "database is closing"));
    return;
  }
  work_cv_.notify_one();
}

void WriteQueue::loop() {
  t_is_writer = true;
  pthread_setname_np(pthread_self(), "troupe-dbwrite");
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    std::deque<JobPtr> group;
    while (!queue_.empty() && static_cast<int>(group.size()) < max_group_) {
      group.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    Histogram* wait_hist = wait_hist_.load(std::memory_order_acquire);
    Histogram* group_hist = group_hist_.load(std::memory_order_acquire);
    const auto start = std::chrono::steady_clock::now();
    if (wait_hist) {
      for (const JobPtr& j : group) {
        wait_hist->observe(std::chrono::duration<double>(start - j->queued).count());
      }
    }
    Status s = run_([&](Connection& c) { return run_group(c, group); });
    if (group_hist) {
      group_hist->observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (s.ok()) {
      groups_.fetch_add(1, std::memory_order_relaxed);
      jobs_.fetch_add(group.size(), std::memory_order_relaxed);
    }
    for (const JobPtr& j : group) {
      if (j->done_fn) {
        if (!s.ok()) j->result = s;
        try {
          j->done_fn(j->result);
        } catch (...) {
          // A completion must not throw; if one does, the other callers are still released.
        }
        continue;
      }
      {
        std::lock_guard jl(j->m);
        if (!s.ok()) j->result = s;
        j->done = true;
      }
      j->cv.notify_one();
    }
    group.clear();
    lock.lock();
  }
}

Status WriteQueue::run_group(Connection& c, std::deque<JobPtr>& group) {
  TROUPE_TRY_STATUS(run_sql(c, "BEGIN IMMEDIATE"));
  // A group of one needs no savepoint: the transaction is the job's (under light load most
  // groups are single writes, and the two extra statements are a tenth of a write's cost).
  const bool single = group.size() == 1;
  for (const JobPtr& j : group) {
    if (!single) {
      Status sp = run_sql(c, "SAVEPOINT job");
      if (!sp.ok()) {
        if (c.in_transaction()) (void)run_sql(c, "ROLLBACK");
        return sp;
      }
    }
    bool keep = false;
    try {
      keep = (*j->fn)(c);
    } catch (const std::exception& e) {
      j->result = Error{Errc::internal, std::string("store: ") + e.what()};
    } catch (...) {
      j->result = Error{Errc::internal, "store: unknown exception"};
    }
    if (!c.in_transaction()) {
      // SQLite rolled the whole transaction back (e.g. disk full): the earlier jobs' work is gone.
      return make_error(Errc::unavailable, "write transaction rolled back by the database");
    }
    if (single) {
      if (keep) break;
      // The job failed and reported it through its captures: nothing of it is kept, and the
      // group (just this job) is done.
      return run_sql(c, "ROLLBACK");
    }
    Status end = keep ? run_sql(c, "RELEASE job")
                      : [&] {
                          Status r = run_sql(c, "ROLLBACK TO job");
                          return r.ok() ? run_sql(c, "RELEASE job") : r;
                        }();
    if (!end.ok()) {
      if (c.in_transaction()) (void)run_sql(c, "ROLLBACK");
      return end;
    }
  }
  Status commit = run_sql(c, "COMMIT");
  if (!commit.ok() && c.in_transaction()) (void)run_sql(c, "ROLLBACK");
  return commit;
}

}  // namespace troupe::store::sqlite
