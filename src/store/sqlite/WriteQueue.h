// WriteQueue: the single writer of a database. Callers hand it a write job and block; its thread
// takes every job queued at that moment (up to a group limit) and runs them in ONE BEGIN IMMEDIATE
// transaction, each job inside its own SAVEPOINT, then commits once: several turns share one WAL
// fsync (group commit). A job whose function fails is rolled back to its savepoint alone; the
// others still commit. Every caller is released only after the COMMIT of its group returned
// (synchronous=FULL: durable), or with the error when the group could not commit (then nothing of
// the group was stored). With one writer, writers never wait on each other in the busy handler.
// submit_async() is the same without blocking: the caller's `done` runs on the writer thread right
// after the group's COMMIT (or failure), so no caller thread is held through the fsync.
// Thread-safety: submit() / submit_async() from any thread except the writer thread itself (a job
// must not submit another write); submit() blocks the caller. Construct and destroy from one
// owning thread; the destructor runs every queued job and its `done` first.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/Result.h"

namespace troupe {
class Histogram;
}

namespace troupe::store::sqlite {

class Connection;

class WriteQueue {
 public:
  // `run_on_connection(group)` lends the writer a connection for one group and calls group(c) on
  // it, returning its status (or the error when no connection is available). At most `max_group`
  // jobs share a transaction.
  using Runner = std::function<Status(const std::function<Status(Connection&)>& group)>;
  WriteQueue(Runner run_on_connection, int max_group);
  ~WriteQueue();  // runs what is queued, then stops the thread
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  // Runs job(c) inside a savepoint of the writer's transaction; job returns true when its work
  // should be kept. Returns once the group holding it committed (ok) or failed (the error). The
  // job itself reports its own failure through its captures (it returned false).
  Status submit(const std::function<bool(Connection&)>& job);

  // Queues `job` like submit() and returns at once. `done(status)` runs on the writer thread after
  // the group holding the job committed (ok) or failed (the error), or at once on the calling
  // thread when the queue is closing (unavailable). `done` must be short and must not block or
  // write: it typically posts a completion to the caller's executor.
  void submit_async(std::function<bool(Connection&)> job, std::function<void(Status)> done);

  // Optional latency figures (seconds), set once (any thread, any time): how long a write
  // waited for its group to start, and how long each group ran (BEGIN .. COMMIT, the fsync and
  // any automatic WAL checkpoint included). Either may be null.
  void set_histograms(Histogram* wait, Histogram* group) {
    wait_hist_.store(wait, std::memory_order_release);
    group_hist_.store(group, std::memory_order_release);
  }

  // Figures for metrics: groups committed and jobs in them.
  std::uint64_t groups() const { return groups_.load(std::memory_order_relaxed); }
  std::uint64_t jobs() const { return jobs_.load(std::memory_order_relaxed); }

 private:
  // Shared by the caller (waiting on `done`) and the writer (which sets it and wakes exactly that
  // caller, never every waiter); shared so that the wake never touches a finished caller's stack.
  // A mutex and condition variable rather than std::atomic<bool>::wait: libstdc++'s atomic wait
  // spins through sched_yield() before it sleeps, and with dozens of DB threads waiting through
  // a commit those yields cost more CPU than the writes.
  struct Job {
    const std::function<bool(Connection&)>* fn = nullptr;
    std::function<bool(Connection&)> owned_fn;  // submit_async: the job, kept here
    std::function<void(Status)> done_fn;        // submit_async: the completion
    std::chrono::steady_clock::time_point queued;
    Status result;
    std::mutex m;
    std::condition_variable cv;
    bool done = false;  // guarded by m (submit() only)
  };
  using JobPtr = std::shared_ptr<Job>;
  void loop();
  Status run_group(Connection& c, std::deque<JobPtr>& group);

  Runner run_;
  const int max_group_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<JobPtr> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::atomic<Histogram*> wait_hist_{nullptr};
  std::atomic<Histogram*> group_hist_{nullptr};
  std::atomic<std::uint64_t> groups_{0};
  std::atomic<std::uint64_t> jobs_{0};
  std::thread thread_;
};

}  // namespace troupe::store::sqlite
