// GenerationManager, part four: the end of a generation that started before its turn was stored
// (see PendingTurn.h).
#include <spdlog/spdlog.h>

#include "chat/GenerationManager.h"

namespace troupe::chat {

namespace asio = boost::asio;

asio::awaitable<bool> GenerationManager::settle_pending(GenerationManager* self, GenerationJob& job,
                                                        store::Generation& gen,
                                                        store::Message& reply,
                                                        std::vector<store::Message>& history,
                                                        const store::EarlyFinish::State& final_state,
                                                        bool& stored_with_turn, bool& redo) {
  std::shared_ptr<PendingTurn> pending = std::move(job.pending);
  // If the turn's write has not run yet, it stores this final state in the same commit.
  (void)pending->early()->offer(final_state);
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
