// SearchBreaker: circuit breaker around vector search. Closed: searches run; `failures`
// consecutive errors or timeouts open it. Open: searches are refused (keyword fallback) for
// `open_ms`. Then half-open: one trial search; success closes it, failure opens it again.
// Thread-safety: every member may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <mutex>

#include "core/Clock.h"

namespace troupe::memory {

class SearchBreaker {
 public:
  enum class State { closed = 0, open = 1, half_open = 2 };
  SearchBreaker(const Clock& clock, int failures, std::int64_t open_ms)
      : clock_(clock), threshold_(failures < 1 ? 1 : failures), open_ms_(open_ms) {}

  // True when a search may run now (in half-open: only the one trial).
  bool allow();
  void on_success();
  void on_failure();
  State state() const;

 private:
  const Clock& clock_;
  const int threshold_;
  const std::int64_t open_ms_;
  mutable std::mutex mu_;
  State state_ = State::closed;
  int failures_ = 0;
  std::int64_t opened_at_ = 0;
  bool trial_running_ = false;
};

}  // namespace troupe::memory
