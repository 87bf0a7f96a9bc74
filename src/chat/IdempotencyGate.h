// IdempotencyGate: the Idempotency-Keys of requests in flight in this process, per user. A second
// request with a key that is still being processed is told so at once (409) instead of racing the
// first one; once the first has finished, the stored key answers a retry with a replay.
// Thread-safety: every member is safe to call from any thread concurrently.
#pragma once

#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "store/Records.h"

namespace troupe::chat {

class IdempotencyGate {
 public:
  // Keys in flight at once; beyond it new keys are refused (the caller answers "retry later").
  static constexpr std::size_t kMaxInFlight = 100000;

  enum class Enter { ok, in_flight, full };

  // Holds a key until destroyed (or released). Empty when entering failed.
  class Hold {
   public:
    Hold() = default;
    Hold(Hold&& o) noexcept : gate_(std::exchange(o.gate_, nullptr)), key_(std::move(o.key_)) {}
    Hold& operator=(Hold&&) = delete;
    Hold(const Hold&) = delete;
    ~Hold() { release(); }
    void release();

   private:
    friend class IdempotencyGate;
    Hold(IdempotencyGate* g, std::pair<store::Id, std::string> k) : gate_(g), key_(std::move(k)) {}
    IdempotencyGate* gate_ = nullptr;
    std::pair<store::Id, std::string> key_;
  };

  // Marks (user, key) in flight; `out` holds it when the answer is ok.
  Enter enter(store::Id user_id, const std::string& key, Hold& out);
  std::size_t in_flight() const;

 private:
  mutable std::mutex mu_;
  std::set<std::pair<store::Id, std::string>> keys_;
};

}  // namespace troupe::chat
