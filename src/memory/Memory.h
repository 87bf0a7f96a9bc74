// Memory: the one interface the chat domain uses for character memory. Every stored message
// becomes a memory in a space (user x character by default, or one chat); a turn retrieves the
// memories most worth recalling for its query, ranked by relevance, recency and importance.
// Implemented by memory/service/MemoryServiceImpl.
// Thread-safety: every member may be called from coroutines on any I/O executor concurrently;
// blocking work (embedding, SQL, search) runs on the service's pools, never on the caller's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "core/Result.h"
#include "store/MemoryStore.h"
#include "store/Records.h"

namespace troupe::memory {

// Whose memory: the space is derived from these (and memory.scope).
struct MemoryScope {
  store::Id user_id = 0;
  store::Id character_id = 0;
  store::Id chat_id = 0;
};

struct RetrievalRequest {
  MemoryScope scope;
  std::string query;    // the new user message
  std::string context;  // recent context (the message before it); weighs less than the query
  std::vector<store::Id> window_message_ids;  // messages already in the prompt window
  int limit = 0;                              // 0 = memory.top_k
  // true: for a prompt (in-window memories skipped, token budget applied, retrieval time noted);
  // false: a listing (in-window memories kept and flagged).
  bool for_prompt = true;
};

struct RetrievedMemory {
  store::Id memory_id = 0;
  store::Id message_id = 0;
  store::Id chat_id = 0;
  std::string speaker;
  std::string text;
  std::int64_t created_at = 0;
  double relevance = 0;   // [0, 1]: cosine similarity (vector) or keyword rank (keyword)
  double recency = 0;     // [0, 1]: exponential decay with memory.recency_half_life_hours
  double importance = 0;  // [0, 1]: heuristic at write time
  double score = 0;       // weighted sum, the rank order
  bool in_window = false; // already in the prompt window (a turn skips it)
  int rank = 0;           // position in the ranking it came from (0 = best)
};

struct RetrievalResult {
  std::string mode = "off";  // "vector" | "keyword" (fallback or no embedder) | "off"
  std::vector<RetrievedMemory> items;  // best first
};

class MemoryService {
 public:
  virtual ~MemoryService() = default;
  virtual bool enabled() const = 0;
  // Never fails: problems degrade to keyword mode, or to "off" with no items.
  virtual boost::asio::awaitable<RetrievalResult> retrieve(RetrievalRequest req) = 0;
  // Stores (or, for a known message, replaces) the memory of a message; empty text forgets it.
  virtual boost::asio::awaitable<Status> remember(MemoryScope scope, store::Message message) = 0;
  // Forgets the memories of these messages; with no ids, those of `chat_id` whose message is gone
  // (after a message and its subtree were deleted).
  virtual boost::asio::awaitable<Status> forget(store::Id chat_id,
                                                std::vector<store::Id> message_ids) = 0;
  // A chat is being deleted (its memories go with it in the store): `chat_memories` lists them
  // before the delete, `forget_listed` then drops them from the indexes and caches.
  virtual boost::asio::awaitable<Result<std::vector<store::RemovedMemory>>> chat_memories(
      store::Id chat_id) = 0;
  virtual boost::asio::awaitable<void> forget_listed(std::vector<store::RemovedMemory> gone) = 0;
  // Space removal when a character or a user is deleted.
  virtual boost::asio::awaitable<Status> forget_character(store::Id user_id,
                                                          store::Id character_id) = 0;
  virtual boost::asio::awaitable<Status> forget_user(store::Id user_id) = 0;
  // What a generation used: recorded once its prompt is built, read back for the API.
  virtual boost::asio::awaitable<Status> record(store::Id generation_id,
                                                const RetrievalResult& used) = 0;
  // A finished turn at once: the memories of `messages` (all of `scope`; stored or replaced,
  // empty text forgets) and, when generation_id != 0, what that generation used; in as few
  // writes and thread hops as the implementation can. This default makes the calls one by one.
  virtual boost::asio::awaitable<Status> remember_turn(MemoryScope scope,
                                                       std::vector<store::Message> messages,
                                                       store::Id generation_id,
                                                       RetrievalResult used) {
    if (generation_id != 0) {
      auto s = co_await record(generation_id, used);
      if (!s.ok()) co_return s;
    }
    for (auto& m : messages) {
      auto s = co_await remember(scope, std::move(m));
      if (!s.ok()) co_return s;
    }
    co_return Status{};
  }
  virtual boost::asio::awaitable<Result<store::GenerationRetrieval>> used_by(
      store::Id generation_id) = 0;
  // The same with each memory's record (text, speaker, source message), best first with the
  // recorded rank and score parts. Memories forgotten since are left out; mode "" = no record.
  virtual boost::asio::awaitable<Result<RetrievalResult>> used_memories(store::Id generation_id) = 0;
};

}  // namespace troupe::memory
