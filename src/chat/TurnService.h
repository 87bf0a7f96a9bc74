// TurnService: the life of a chat turn. Posting a user message stores it durably together with a
// running generation and its reply placeholder, publishes the events, and hands the generation to
// the GenerationManager; regenerate/continue/stop work the same way.
// Thread-safety: all members may be called concurrently from coroutines on any I/O executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <vector>

#include "chat/Deps.h"
#include "chat/GenerationManager.h"
#include "chat/IdempotencyGate.h"

namespace troupe::chat {

class TurnService {
 public:
  TurnService(Deps deps, GenerationManager& generations) : d_(deps), gm_(generations) {}

  // 202-style: the user message is durable when this returns. 409 while a generation runs, or
  // while another request with the same Idempotency-Key is being processed.
  boost::asio::awaitable<Result<store::Turn>> post_message(const store::User& user,
                                                           store::Id chat_id, std::string content,
                                                           std::string idempotency_key);
  // kind "regenerate" (new swipe of `message_id`, default the last message) or "continue".
  boost::asio::awaitable<Result<store::Turn>> start_generation(const store::User& user,
                                                               store::Id chat_id, std::string kind,
                                                               store::Id message_id);
  boost::asio::awaitable<Result<store::Generation>> stop(const store::User& user, store::Id gen_id);
  boost::asio::awaitable<Result<store::Generation>> get(const store::User& user, store::Id gen_id);
  // The memories the generation put into its prompt, with their score parts (mode "" when none
  // were recorded, e.g. memory disabled). Another user's generation: not_found.
  boost::asio::awaitable<Result<memory::RetrievalResult>> used_memories(const store::User& user,
                                                                        store::Id gen_id);

 private:
  // GenerationManager::reserve, waiting up to ~0.5 s for a generation that is already finishing.
  boost::asio::awaitable<GenerationManager::Reserve> reserve(store::Id chat_id, store::Id user_id);
  // What a turn needs besides its messages, read in ONE pool hop before anything is stored: the
  // chat (404 for another user's), its character, the persona, and the chat's event stream
  // prepared. A turn that cannot start fails here with nothing written. `cached`: may come from
  // the ContextCache without a hop (its chat record's leaf and timestamps may then be old).
  using Context = ChatContext;
  boost::asio::awaitable<Result<Context>> load_context(const store::User& user, store::Id chat_id,
                                                       bool cached);
  // Announces the stored turn and hands the generation to the manager; the chat is locked.
  boost::asio::awaitable<Status> launch(const store::User& user, Context ctx, store::Turn& turn,
                                        std::optional<HistoryPath> history,
                                        HistoryCache::Ticket ticket);
  // A reply turn whose history is cached (the new message follows `leaf`) on a store with a
  // writer: the generation starts at once and the turn's write is queued behind it (see
  // PendingTurn.h); a reply that is ready before the write runs is stored in the same commit.
  // Nothing when the history cache missed after all (the caller takes the usual path). The chat
  // is reserved and leased; it is freed on every other outcome.
  boost::asio::awaitable<std::optional<Result<store::Turn>>> post_pending(
      const store::User& user, Context& ctx, store::Id leaf, const std::string& content,
      const std::string& idempotency_key);
  // The job of a turn's generation (shares the context's participants).
  static GenerationJob make_job(const store::User& user, Context& ctx, const store::Turn& turn,
                                std::optional<HistoryPath> history, HistoryCache::Ticket ticket);
  // Where a chat's generation runs: a live subscriber's executor, else `own` (the request's).
  boost::asio::any_io_executor generation_executor(boost::asio::any_io_executor own,
                                                   store::Id chat_id) const;
  // GenerationManager::load_history, or nothing when it failed. Blocking: DB pool only.
  std::optional<HistoryPath> history_or_none(const store::Turn& turn) const;

  Deps d_;
  GenerationManager& gm_;
  IdempotencyGate idempotency_;
};

}  // namespace troupe::chat
