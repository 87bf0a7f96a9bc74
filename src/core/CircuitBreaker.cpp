#include "core/CircuitBreaker.h"

#include <algorithm>

namespace troupe {

CircuitBreaker::CircuitBreaker(const Clock& clock, CircuitBreakerOptions opts)
    : clock_(clock), opts_(opts) {
  opts_.failure_threshold = std::max(1, opts_.failure_threshold);
  opts_.open_ms = std::max<std::int64_t>(1, opts_.open_ms);
}

CircuitBreaker::State CircuitBreaker::state_locked(std::int64_t now) const {
  if (state_ == State::open && now - opened_at_ms_ >= opts_.open_ms) return State::half_open;
  return state_;
}

bool CircuitBreaker::allow() {
  std::int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  switch (state_locked(now)) {
    case State::closed:
      return true;
    case State::open:
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return false;
    case State::half_open:
      if (state_ == State::open) {  // time is up: become half-open, this caller is the probe
        state_ = State::half_open;
        probe_in_flight_ = false;
      }
      if (probe_in_flight_ && now - probe_started_ms_ < opts_.open_ms) {
        rejected_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      probe_in_flight_ = true;
      probe_started_ms_ = now;
      return true;
  }
  return false;
}

void CircuitBreaker::on_success() {
  successes_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  // A late success from a call started before the breaker opened does not close it: only the
  // half-open probe decides.
  if (state_ == State::open) return;
  state_ = State::closed;
  consecutive_failures_ = 0;
  probe_in_flight_ = false;
}

void CircuitBreaker::on_failure() {
  failures_.fetch_add(1, std::memory_order_relaxed);
  std::int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  switch (state_) {
    case State::open:
      return;  // late failure of a call started while closed: the open period stands
    case State::half_open:
      break;   // the probe failed: reopen
    case State::closed:
      if (++consecutive_failures_ < opts_.failure_threshold) return;
      break;
  }
  state_ = State::open;
  opened_at_ms_ = now;
  consecutive_failures_ = 0;
  probe_in_flight_ = false;
  opened_.fetch_add(1, std::memory_order_relaxed);
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  return state_locked(now);
}

CircuitBreaker::Stats CircuitBreaker::stats() const {
  Stats s;
  s.state = state();
  s.opened = opened_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.successes = successes_.load(std::memory_order_relaxed);
  s.failures = failures_.load(std::memory_order_relaxed);
  return s;
}

std::string_view circuit_state_name(CircuitBreaker::State s) noexcept {
  switch (s) {
    case CircuitBreaker::State::closed: return "closed";
    case CircuitBreaker::State::open: return "open";
    case CircuitBreaker::State::half_open: return "half_open";
  }
  return "closed";
}

}  // namespace troupe
