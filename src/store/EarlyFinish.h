// EarlyFinish: a generation's final state handed to the write of its own turn, when the
// generation ended before that write ran. The turn (user message, generation, reply) and the
// reply's final text and status are then stored in ONE transaction: a turn whose reply is quicker
// than the store's group commit costs one durable commit instead of two.
//
// A handoff between two parties, each acting once:
//  - the generation calls offer() when it has ended;
//  - the turn's write calls take() inside its transaction, right after writing the turn, and only
//    when the turn hangs where the generation assumed (`expected_parent`: the prompt was built
//    for that path); then mark_stored() once the final state is written too.
// Whichever comes second decides: take() after offer() gets the state; offer() after take()
// returns false and the generation stores its final state itself, as any generation does. A store
// that never calls take() (no writer thread: PostgreSQL) leaves it to the generation.
// Thread-safety: offer() from the generation's thread, take()/mark_stored() from the store's
// writer thread; stored() once the turn's write has reported back (that completion orders it).
#pragma once

#include <atomic>
#include <string>

#include "store/Records.h"

namespace troupe::store {

class EarlyFinish {
 public:
  struct State {
    std::string status;  // completed / stopped / failed / interrupted
    std::string content;
    std::string error;
  };

  explicit EarlyFinish(Id expected_parent) : expected_parent_(expected_parent) {}

  // The message the turn's user message was assumed to follow (the chat's leaf as cached).
  Id expected_parent() const { return expected_parent_; }

  // Generation: its final state. True when the turn's write will store it with the turn (the
  // write had not looked yet); false when the write has already run without it.
  bool offer(State s) {
    if (phase_.load(std::memory_order_acquire) != kOpen) return false;
    state_ = std::move(s);  // not read by take() before the exchange below publishes it
    int open = kOpen;
    return phase_.compare_exchange_strong(open, kOffered, std::memory_order_acq_rel);
  }

  // Writer, inside the turn's transaction: the offered state, or nullptr (then no offer is
  // accepted any more).
  const State* take() {
    int open = kOpen;
    if (phase_.compare_exchange_strong(open, kClosed, std::memory_order_acq_rel)) return nullptr;
    return open == kOffered ? &state_ : nullptr;
  }
  // Writer: the taken state was written in the turn's transaction.
  void mark_stored() { stored_.store(true, std::memory_order_release); }
  // True when the turn's write stored the final state (meaningful once that write committed).
  bool stored() const { return stored_.load(std::memory_order_acquire); }

 private:
  static constexpr int kOpen = 0, kOffered = 1, kClosed = 2;
  const Id expected_parent_;
  std::atomic<int> phase_{kOpen};
  std::atomic<bool> stored_{false};
  State state_;
};

}  // namespace troupe::store
