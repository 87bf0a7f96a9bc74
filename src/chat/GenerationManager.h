// GenerationManager: owns every running generation. At most one generation per chat; each runs as
// a task in the manager's scope (not the requesting connection's), streams tokens to the bus,
// persists partial text every flush interval, and stores its final text and status
// (completed / stopped / failed / interrupted) even when stopped or shut down.
// Across nodes, a generation also holds its chat's lease (sync::ChatLeases) from before the turn
// is stored until after its final state is stored; losing it stops the generation as
// "interrupted". Stop requests for generations running on another node arrive as
// "generation.stop" control messages on the bus.
// Thread-safety: all public members are safe to call from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "chat/DeadGenerations.h"
#include "chat/Deps.h"
#include "chat/HistoryCache.h"
#include "chat/Participants.h"
#include "chat/PendingTurn.h"
#include "chat/PromptBuilder.h"
#include "core/TaskScope.h"
#include "sync/ChatLeases.h"
#include "sync/LocalChatLeases.h"

namespace troupe::chat {

struct GenerationJob {
  store::Turn turn;             // generation + reply placeholder (+ user message for replies)
  // The character and persona (shared with the context cache; never null in a launched job).
  std::shared_ptr<const Participants> who;
  std::string user_name;
  // The prompt's history when the caller already read it (on a DB thread, see load_history);
  // empty optional: the generation reads it itself.
  std::optional<HistoryPath> history;
  // HistoryCache ticket taken before `history` was read (see HistoryCache::remember).
  HistoryCache::Ticket history_ticket = 0;
  // Set when the generation starts before its turn is stored (a reply turn on SQLite whose
  // history came from the cache): `turn` then has no ids yet, and the events wait for the
  // turn's commit (see PendingTurn.h).
  std::shared_ptr<PendingTurn> pending;
  // With `pending`: releases the turn's write once the job is gone, if nothing did before.
  PendingTurn::WriteRelease write_release;
};

class GenerationManager {
 public:
  // `leases` null: single node (LocalChatLeases).
  explicit GenerationManager(Deps deps, sync::ChatLeases* leases = nullptr);
  ~GenerationManager();

  // Control topic of stop requests (payload: the generation id in decimal).
  static constexpr const char* kStopTopic = "generation.stop";

  enum class Reserve { ok, chat_busy, user_limit, closing };
  // Reserves the chat for one generation of `user_id`: chat_busy when one already runs there
  // (answer 409), user_limit when the user runs limits.user_generations already (answer 429).
  Reserve reserve(store::Id chat_id, store::Id user_id);
  // True while the chat's generation is storing its final state (the chat frees up in moments).
  bool finishing(store::Id chat_id) const;
  // reserve() without a user limit; false unless ok.
  bool try_lock(store::Id chat_id) { return reserve(chat_id, 0) == Reserve::ok; }
  // After reserve() == ok and before any store write of the turn: takes the chat's lease (held
  // until the generation's final state is stored). conflict when another node runs a generation
  // there, unavailable when the lease service is unreachable; on error the caller unlock()s.
  // With shared leases it then interrupts the chat's generations left running by a dead node.
  boost::asio::awaitable<Status> acquire_lease(store::Id chat_id);
  // Gives back a reservation (and its lease) that will not be launched.
  void unlock(store::Id chat_id);
  // Starts the job on `ex` in the manager's scope; the chat must be reserved by try_lock. False
  // when the manager is shutting down: then a stored generation was recorded as interrupted, and
  // a pending one (no id yet) is left to the caller, the chat freed either way.
  bool launch(const boost::asio::any_io_executor& ex, GenerationJob job);
  // A pending generation's turn was stored as `generation_id` (PendingTurn's on_stored, any
  // thread): stop() and runs_generation() know it from now on.
  void bind(store::Id chat_id, store::Id generation_id);
  // A pending generation whose turn was not stored: frees its chat at once and stops it (it then
  // ends unseen). Does nothing when the chat's entry is no longer that generation's.
  void abandon(store::Id chat_id, const PendingTurn* pending);
  // The newest messages of the turn's path its prompt can hold (the selected path up to the
  // reply's parent; up to the reply itself for "continue"). Blocking: call on a DB pool thread.
  Result<std::vector<store::Message>> load_history(const store::Turn& turn) const;
  // A reply turn's history from the HistoryCache (the path its last generation left, plus the
  // new user message, cut to the prompt's budget as load_history would; the message may be one
  // not stored yet, with its parent set and no id), or nothing: then read
  // it with load_history after taking history_ticket(). Any thread.
  std::optional<HistoryPath> cached_history(const store::Turn& turn, HistoryCache::Ticket& ticket);
  HistoryCache::Ticket history_ticket() const { return history_.ticket(); }
  // After any change to a chat's messages other than a generation's own (stored first).
  void forget_history(store::Id chat_id) { history_.forget(chat_id); }
  HistoryCache& history_cache() { return history_; }
  // Stops a running generation: it ends "stopped" with its partial text. False if not running.
  bool stop(store::Id generation_id);
  // Running generation id of a chat, if any.
  std::optional<store::Id> running(store::Id chat_id) const;
  std::size_t running_count() const;
  // Generations started before their turn was stored, and how many of those had their final
  // state stored with the turn (one commit for both).
  struct PendingStats {
    std::uint64_t started = 0;
    std::uint64_t stored_with_turn = 0;
  };
  PendingStats pending_stats() const {
    return {pending_started_.load(std::memory_order_relaxed),
            pending_stored_.load(std::memory_order_relaxed)};
  }
  // True when this node runs the generation (or is about to: launched, not yet finished).
  bool runs_generation(store::Id generation_id) const;
  // Shutdown: refuses new generations, lets running ones finish for up to `finish_grace`, then
  // stops the rest as "interrupted" and waits up to `persist_grace` for them to be stored.
  // Call from a non-I/O thread while the I/O threads still run.
  void shutdown(std::chrono::milliseconds finish_grace, std::chrono::milliseconds persist_grace);

 private:
  struct Running {
    store::Id generation_id = 0;
    std::uint64_t task_id = 0;
    bool launched = false;
    bool interrupted = false;  // stopped by shutdown rather than by a user
    store::Id user_id = 0;
    bool finishing = false;
    std::shared_ptr<sync::ChatLease> lease;
    bool lease_lost = false;  // someone else may own the chat now: stop as "interrupted"
    // A stop that came after launch() but before the task's id was recorded (the task may start
    // on another thread first): launch() cancels the task as soon as it knows its id.
    bool stop_requested = false;
    const PendingTurn* pending = nullptr;  // a pending generation's turn (identity only)
  };
  // Lets callbacks from other threads (lease loss, control messages) reach the manager only
  // while it exists.
  struct Alive {
    std::mutex mu;
    GenerationManager* gm = nullptr;
  };
  void lease_lost(store::Id chat_id, const sync::ChatLease* lease);
  bool lost_lease(store::Id chat_id) const;
  std::shared_ptr<sync::ChatLease> lease_of(store::Id chat_id) const;
  void mark_finishing(store::Id chat_id);
  void erase_locked(std::unordered_map<store::Id, Running>::iterator it);
  static boost::asio::awaitable<void> run(GenerationManager* self, std::shared_ptr<Task> task,
                                          GenerationJob job);
  // Stores the final state (retried), publishes generation.finished and frees the chat; with
  // shared leases the lease is released between storing and announcing. GenerationFinish.cpp.
  static boost::asio::awaitable<void> store_and_announce(GenerationManager* self,
                                                         store::Generation& gen,
                                                         const store::Message& reply,
                                                         const std::string& status,
                                                         const std::string& content,
                                                         const std::string& error,
                                                         HistoryPath* cache_path,
                                                         HistoryCache::Ticket ticket,
                                                         bool already_stored);
  // A pending generation's end, before it is stored: hands its final state to the turn's write,
  // waits for the turn, and adopts the stored ids into `job`, `gen` and `reply`. False when the
  // turn was not stored (the generation has been released and ends unseen). GenerationPending.cpp.
  static boost::asio::awaitable<bool> settle_pending(GenerationManager* self, GenerationJob& job,
                                                     store::Generation& gen, store::Message& reply,
                                                     std::vector<store::Message>& history,
                                                     const store::EarlyFinish::State& final_state,
                                                     bool& stored_with_turn, bool& redo);
  void finished(store::Id chat_id);
  // Frees the chat of a pending generation whose turn was not stored, if its entry is still that
  // generation's; with `cancel`, also stops the generation's task.
  void drop_pending(store::Id chat_id, const PendingTurn* pending, bool cancel);
  bool interrupted(store::Id chat_id) const;
  // The most messages a prompt's history holds, and the predicate both history sources (store
  // and cache) walk it with, newest first: true once the messages seen exceed the prompt budget.
  static constexpr int kMaxHistoryMessages = 2000;
  std::function<bool(const store::Message&)> history_budget_reached() const;

  struct Instruments {
    Histogram* ttft = nullptr;
    Histogram* inter_token = nullptr;
    Counter* outcomes[5] = {};  // completed, stopped, failed, interrupted, other
  };
  void count_outcome(const std::string& status);

  Deps deps_;
  sync::LocalChatLeases local_leases_;
  sync::ChatLeases* leases_;
  DeadGenerations dead_;
  std::shared_ptr<Alive> alive_;
  std::uint64_t stop_sub_ = 0;
  Counter* lease_losses_ = nullptr;
  Instruments m_;
  EstimateTokenCounter counter_;
  PromptBuilder prompts_;
  HistoryCache history_;  // disabled (no chats) when the bus is shared by several nodes
  std::shared_ptr<TaskScope> scope_;
  mutable std::mutex mu_;
  std::unordered_map<store::Id, Running> by_chat_;
  std::unordered_map<store::Id, store::Id> chat_of_generation_;
  std::unordered_map<store::Id, int> per_user_;
  bool closing_ = false;
  std::atomic<std::uint64_t> pending_started_{0};
  std::atomic<std::uint64_t> pending_stored_{0};
};

}  // namespace troupe::chat
