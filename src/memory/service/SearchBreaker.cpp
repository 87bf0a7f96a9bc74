#include "memory/service/SearchBreaker.h"

namespace troupe::memory {

bool SearchBreaker::allow() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case State::closed:
      return true;
    case State::open:
      if (clock_.now_ms() - opened_at_ < open_ms_) return false;
      state_ = State::half_open;
      trial_running_ = true;
      return true;
    case State::half_open:
      if (trial_running_) return false;
      trial_running_ = true;
      return true;
  }
  return false;
}

void SearchBreaker::on_success() {
  std::lock_guard lock(mu_);
  state_ = State::closed;
  failures_ = 0;
  trial_running_ = false;
}

void SearchBreaker::on_failure() {
  std::lock_guard lock(mu_);
  trial_running_ = false;
  if (state_ == State::half_open || ++failures_ >= threshold_) {
    state_ = State::open;
    opened_at_ = clock_.now_ms();
    failures_ = 0;
  }
}

SearchBreaker::State SearchBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

}  // namespace troupe::memory
