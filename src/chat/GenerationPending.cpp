// GenerationManager, part four: generations that start before their turn is stored (see
// PendingTurn.h) — their id once the turn is stored, their end, and their chat freed when the turn
// was not stored.
#include <spdlog/spdlog.h>

#include "chat/GenerationManager.h"

namespace troupe::chat {

namespace asio = boost::asio;

void GenerationManager::bind(store::Id chat_id, store::Id generation_id) {
  std::lock_guard lock(mu_);
  auto it = by_chat_.find(chat_id);
  if (it == by_chat_.end() || it->second.generation_id != 0) return;
  it->second.generation_id = generation_id;
  chat_of_generation_[generation_id] = chat_id;
}

void GenerationManager::abandon(store::Id chat_id, const PendingTurn* pending) {
  drop_pending(chat_id, pending, true);
}

void GenerationManager::drop_pending(store::Id chat_id, const PendingTurn* pending, bool cancel) {
  std::uint64_t task_id = 0;
  std::shared_ptr<sync::ChatLease> lease;
  {
    std::lock_guard lock(mu_);
    auto it = by_chat_.find(chat_id);
    if (it == by_chat_.end() || !pending || it->second.pending != pending) return;
    task_id = it->second.task_id;
    lease = std::move(it->second.lease);
    if (it->second.generation_id) chat_of_generation_.erase(it->second.generation_id);
    erase_locked(it);
  }
  if (lease) lease->release_detached();
  if (cancel && task_id) scope_->cancel_task(task_id);
}

asio::awaitable<bool> GenerationManager::settle_pending(GenerationManager* self, GenerationJob& job,
                                                        store::Generation& gen,
                                                        store::Message& reply,
                                                        std::vector<store::Message>& history,
                                                        const store::EarlyFinish::State& final_state,
                                                        bool& stored_with_turn, bool& redo) {
  std::shared_ptr<PendingTurn> pending = std::move(job.pending);
  // If the turn's write has not run yet, it stores this final state in the same commit.
  (void)pending->early()->offer(final_state);
  pending->release_write();  // (if the generation never waited before)
  Result<store::Turn> r = co_await pending->settled();
  if (!r.ok() || r->replayed) {
    // Nothing of this generation was stored or published: free the chat (unless the request
    // already did), quietly.
    self->drop_pending(gen.chat_id, pending.get(), false);
    co_return false;
  }
  store::Turn& t = *r;
  stored_with_turn = pending->early()->stored();
  if (stored_with_turn) self->pending_stored_.fetch_add(1, std::memory_order_relaxed);
  if (!stored_with_turn && t.user_message.parent_id != pending->expected_parent()) {
    // The turn hangs elsewhere than the prompt assumed: build it again from the store.
    job.turn = std::move(t);
    job.history.reset();
    redo = true;
    co_return true;
  }
  // The stored ids (and timestamps); what the generation found out itself stays.
  std::string mode = std::move(gen.retrieval_mode);
  std::vector<store::Id> memory_ids = std::move(gen.memory_ids);
  gen = t.generation;
  gen.retrieval_mode = std::move(mode);
  gen.memory_ids = std::move(memory_ids);
  reply = t.reply;
  // The prompt's history ended with the message before it had an id.
  if (!history.empty() && history.back().id == 0) {
    history.back() = t.user_message;
    if (history.size() >= 2) history[history.size() - 2].active_child_id = t.user_message.id;
  }
  job.turn = std::move(t);
  co_return true;
}

}  // namespace troupe::chat
