// CircuitBreaker: stops calling a failing dependency for a while. Closed: calls pass; after
// `failure_threshold` consecutive failures (errors or timeouts) it opens. Open: calls are rejected
// for `open_ms`; then it is half-open and lets exactly one probe through. The probe's success
// closes the breaker, its failure opens it again for another `open_ms`. A probe that never reports
// back is replaced by a new one after `open_ms`, so a lost outcome cannot wedge the breaker.
// Time comes from a `const Clock&` so tests drive every transition with a FakeClock.
// Thread-safety: every member may be called from any thread (one mutex; counters are atomics).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "core/Clock.h"

namespace troupe {

struct CircuitBreakerOptions {
  int failure_threshold = 5;     // consecutive failures that open the breaker (>= 1)
  std::int64_t open_ms = 30000;  // how long it stays open before a probe (>= 1)
};

class CircuitBreaker {
 public:
  enum class State { closed, open, half_open };

  struct Stats {
    State state = State::closed;
    std::uint64_t opened = 0;     // times the breaker went (or went back) to open
    std::uint64_t rejected = 0;   // calls refused by allow()
    std::uint64_t successes = 0;  // outcomes reported
    std::uint64_t failures = 0;
  };

  CircuitBreaker(const Clock& clock, CircuitBreakerOptions opts);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Asks to make one call. true: make it and report its outcome with on_success()/on_failure().
  // false: the breaker is open (or a half-open probe is already in flight); do not call.
  bool allow();
  void on_success();
  void on_failure();  // an error or a timeout

  // Current state for metrics; an open breaker whose time is up reports half_open.
  State state() const;
  Stats stats() const;
  const CircuitBreakerOptions& options() const { return opts_; }

 private:
  State state_locked(std::int64_t now) const;

  const Clock& clock_;
  CircuitBreakerOptions opts_;
  mutable std::mutex mu_;
  State state_ = State::closed;
  int consecutive_failures_ = 0;
  std::int64_t opened_at_ms_ = 0;
  bool probe_in_flight_ = false;
  std::int64_t probe_started_ms_ = 0;
  std::atomic<std::uint64_t> opened_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> successes_{0};
  std::atomic<std::uint64_t> failures_{0};
};

// "closed", "open" or "half_open" (for logs and metrics labels).
std::string_view circuit_state_name(CircuitBreaker::State s) noexcept;

}  // namespace troupe
