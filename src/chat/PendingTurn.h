// PendingTurn: a reply turn whose generation starts before the turn's write is queued to the
// store's writer (SQLite), so that a quick reply is ready — and stored with the turn, in the same
// commit (store/EarlyFinish.h) — by the time the turn is durable.
//
// The write is held until the generation first waits or ends (release_write(); a backend's
// pause, release_write_soon(), releases it once the generation's coroutine has suspended; at the
// latest when its job is dropped, WriteRelease): a reply that needs no wait at all (the simulator
// without delays) is then always complete when the turn is written, and the turn takes one commit
// instead of two. A backend that waits (an upstream request) releases the write at its first
// wait, so the turn is not delayed by it.
//
// Nothing of the turn is visible before it is durable. The generation's tokens are held here;
// once the write has committed they are published on the generation's executor, after
// `message.created` (the user message, then the reply) and `generation.started`, and later tokens
// go straight out. When the write failed (or replayed an earlier turn with the same
// Idempotency-Key) the held tokens are dropped and the generation ends unseen. When the turn was
// written under another message than the prompt assumed (the chat's selected path moved between
// the two), the turn is announced but its tokens are dropped: the generation streams again.
//
// Thread-safety: complete() once, from any thread (the writer's completion); tokens(),
// settled() and release_write_soon() from the generation's coroutine; hold_write() and result()
// from the request's coroutine; release_write() from any thread. Members may run concurrently
// with each other (one mutex). Owned through shared_ptr by the request, the generation (and its
// WriteRelease) and the store's pending completion.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/Deps.h"
#include "store/EarlyFinish.h"
#include "sync/EventBatch.h"

namespace troupe::chat {

class PendingTurn : public std::enable_shared_from_this<PendingTurn> {
 public:
  // `on_stored(turn)` runs on the completing thread as soon as the turn is stored, before anyone
  // can learn of it (it makes the generation reachable by its id). `generation_ex`: where the
  // generation runs and where the turn is announced.
  PendingTurn(const Deps& d, store::Id chat_id, store::Id expected_parent,
              boost::asio::any_io_executor generation_ex,
              std::function<void(const store::Turn&)> on_stored);

  // Queues the turn's write to the store (its completion must call complete()).
  using Write = std::function<void(std::shared_ptr<PendingTurn>)>;

  // Releases the write when its last copy is dropped (held by the generation's job): a
  // generation that ends or is dropped before it released the write never leaves the request
  // waiting.
  class WriteRelease {
   public:
    WriteRelease() = default;
    explicit WriteRelease(std::shared_ptr<PendingTurn> p) : g_(std::make_shared<Guard>(std::move(p))) {}

   private:
    struct Guard {
      explicit Guard(std::shared_ptr<PendingTurn> p) : p(std::move(p)) {}
      Guard(const Guard&) = delete;
      Guard& operator=(const Guard&) = delete;
      ~Guard() { p->release_write(); }
      std::shared_ptr<PendingTurn> p;
    };
    std::shared_ptr<Guard> g_;
  };

  const std::shared_ptr<store::EarlyFinish>& early() const { return early_; }

  // The request: the write, queued at release_write() (at once if that already happened).
  void hold_write(Write w);
  // The generation: queues the held write now (once; later calls do nothing). Before
  // hold_write(), it only records that the write may go at once.
  void release_write();
  // The generation's backend paused (it waits, or it ended): release_write() runs on the
  // generation's executor after the current handler, i.e. once the generation has suspended. A
  // generation that ended instead reaches its own release_write() first, after it offered its
  // final state (EarlyFinish).
  void release_write_soon();
  store::Id expected_parent() const { return early_->expected_parent(); }

  // The write's result (the stored turn, or why it was not stored).
  void complete(Result<store::Turn> r);
  // The request: the write's result; resumes on the caller's executor once complete() ran.
  boost::asio::awaitable<Result<store::Turn>> result();
  // The generation: the write's result, once the turn is announced (or refused).
  boost::asio::awaitable<Result<store::Turn>> settled();

  // The generation: a run of reply text pieces (as publish_token_events takes them) — held before
  // the announcement, published after it (one batch), dropped after a refusal.
  void tokens(std::string_view text, std::size_t begin, const std::vector<std::size_t>& ends);
  // The reply's message id once the turn is announced, else 0 (partial text is saved only then).
  store::Id reply_id() const;
  // False once the turn is announced without this text (not stored, or stored on another path):
  // the generation's stream may end early.
  bool wanted() const;

 private:
  // On the generation's executor after complete(): publishes the turn and the held tokens.
  void announce();
  // Resumes once the result is in (`announced` false) or the turn is announced (true).
  boost::asio::awaitable<Result<store::Turn>> wait(bool announced);

  Deps d_;
  const store::Id chat_id_;
  boost::asio::any_io_executor gen_ex_;
  std::function<void(const store::Turn&)> on_stored_;
  std::shared_ptr<store::EarlyFinish> early_;

  mutable std::mutex mu_;
  std::optional<Result<store::Turn>> result_;  // guarded by mu_; never changes once set
  bool announced_ = false;                     // guarded by mu_
  bool published_ = false;                     // guarded by mu_: the turn is out, tokens go live
  // Set (under mu_, once) when the turn is announced without its tokens: what wanted() reads
  // per token without the lock.
  std::atomic<bool> unwanted_{false};
  std::string held_;                           // guarded by mu_: held text
  std::vector<std::size_t> held_ends_;         // guarded by mu_: end of each held piece
  sync::EventBatch batch_;                     // guarded by mu_: events going out together
  std::function<void()> request_waiter_;       // guarded by mu_
  std::function<void()> generation_waiter_;    // guarded by mu_
  Write write_;                                // guarded by mu_: held until released
  bool write_released_ = false;                // guarded by mu_
  bool write_release_posted_ = false;          // guarded by mu_
};

}  // namespace troupe::chat
