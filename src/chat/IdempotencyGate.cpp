#include "chat/IdempotencyGate.h"

namespace troupe::chat {

void IdempotencyGate::Hold::release() {
  if (!gate_) return;
  std::lock_guard lock(gate_->mu_);
  gate_->keys_.erase(key_);
  gate_ = nullptr;
}

IdempotencyGate::Enter IdempotencyGate::enter(store::Id user_id, const std::string& key,
                                              Hold& out) {
  out.release();  // before locking: it may hold a key of this gate
  std::pair<store::Id, std::string> k{user_id, key};
  std::lock_guard lock(mu_);
  if (keys_.count(k)) return Enter::in_flight;
  if (keys_.size() >= kMaxInFlight) return Enter::full;
  keys_.insert(k);
  out.gate_ = this;
  out.key_ = std::move(k);
  return Enter::ok;
}

std::size_t IdempotencyGate::in_flight() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

}  // namespace troupe::chat
