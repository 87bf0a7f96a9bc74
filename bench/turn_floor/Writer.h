// Writer: the writer thread, group commit to the append-only log.
// Thread-safety: try_reserve(), release(), submit() and stop() from any thread; run() on the
// writer thread alone.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "Common.h"
#include "Inbox.h"
#include "Shared.h"

namespace troupe_turn_floor {

class Writer {
 public:
  Writer(Shared& s, int fd, bool sync) : s_(s), fd_(fd), sync_(sync) {}

  bool try_reserve() {  // a place in the queue, taken before a request changes any state
    if (reserved_.fetch_add(1) < kMaxQueued) return true;
    return reserved_.fetch_sub(1), false;
  }
  void release() { reserved_.fetch_sub(1); }
  void submit(std::unique_ptr<Pending> p) {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(p));
    cv_.notify_one();
  }
  void stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }

  void run();  // the writer thread: until stop()

 private:
  [[noreturn]] static void die(const char* what);

  void write_all(std::vector<iovec>& iov);

  Shared& s_;
  const int fd_;
  const bool sync_;
  std::atomic<long> reserved_{0};  // records queued or being written
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Pending>> queue_;  // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_
};

}  // namespace troupe_turn_floor
