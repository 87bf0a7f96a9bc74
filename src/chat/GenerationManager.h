// GenerationManager: owns every running generation. At most one generation per chat; each runs as
// a task in the manager's scope (not the requesting connection's), streams tokens to the bus,
// persists partial text every flush interval, and stores its final text and status
// (completed / stopped / failed / interrupted) even when stopped or shut down.
// Thread-safety: all public members are safe to call from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "chat/Deps.h"
#include "chat/PromptBuilder.h"
#include "core/TaskScope.h"

namespace troupe::chat {

struct GenerationJob {
  store::Turn turn;             // generation + reply placeholder (+ user message for replies)
  store::Character character;
  std::optional<store::Persona> persona;
  std::string user_name;
};

class GenerationManager {
 public:
  explicit GenerationManager(Deps deps);
  ~GenerationManager();

  enum class Reserve { ok, chat_busy, user_limit, closing };
  // Reserves the chat for one generation of `user_id`: chat_busy when one already runs there
  // (answer 409), user_limit when the user runs limits.user_generations already (answer 429).
  Reserve reserve(store::Id chat_id, store::Id user_id);
  // True while the chat's generation is storing its final state (the chat frees up in moments).
  bool finishing(store::Id chat_id) const;
  // reserve() without a user limit; false unless ok.
  bool try_lock(store::Id chat_id) { return reserve(chat_id, 0) == Reserve::ok; }
  // Gives back a reservation that will not be launched.
  void unlock(store::Id chat_id);
  // Starts the job on `ex` in the manager's scope; the chat must be reserved by try_lock.
  void launch(const boost::asio::any_io_executor& ex, GenerationJob job);
  // Stops a running generation: it ends "stopped" with its partial text. False if not running.
  bool stop(store::Id generation_id);
  // Running generation id of a chat, if any.
  std::optional<store::Id> running(store::Id chat_id) const;
  std::size_t running_count() const;
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
  };
  void mark_finishing(store::Id chat_id);
  void erase_locked(std::unordered_map<store::Id, Running>::iterator it);
  static boost::asio::awaitable<void> run(GenerationManager* self, std::shared_ptr<Task> task,
                                          GenerationJob job);
  void finished(store::Id chat_id);
  bool interrupted(store::Id chat_id) const;

  struct Instruments {
    Histogram* ttft = nullptr;
    Histogram* inter_token = nullptr;
    Counter* outcomes[5] = {};  // completed, stopped, failed, interrupted, other
  };
  void count_outcome(const std::string& status);

  Deps deps_;
  Instruments m_;
  EstimateTokenCounter counter_;
  PromptBuilder prompts_;
  std::shared_ptr<TaskScope> scope_;
  mutable std::mutex mu_;
  std::unordered_map<store::Id, Running> by_chat_;
  std::unordered_map<store::Id, store::Id> chat_of_generation_;
  std::unordered_map<store::Id, int> per_user_;
  bool closing_ = false;
};

}  // namespace troupe::chat
