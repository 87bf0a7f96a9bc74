// MemoryStore: the source of truth for character memories (one row per stored message), their
// FTS5 keyword index, and which memories each generation used. Vector indexes are derived from it.
// A memory space is identified by `space_key` (see memory/service/SpaceKey.h).
// Thread-safety: implementations are safe for concurrent use from any non-I/O thread (blocking).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/Result.h"
#include "store/Records.h"

namespace troupe::store {

struct MemoryRecord {
  Id id = 0;
  std::int64_t space_key = 0;
  Id user_id = 0;
  Id character_id = 0;
  Id chat_id = 0;
  Id message_id = 0;
  std::string speaker;  // "user" | "assistant" | "system"
  std::string text;
  std::int64_t created_at = 0;         // ms since epoch
  std::int64_t last_retrieved_at = 0;  // 0 = never
  double importance = 0;               // [0, 1]
  std::string embedder;                // "" = no embedding stored
  std::vector<float> embedding;        // unit length, empty when none (or not loaded)
};

// One memory a generation put into its prompt, with the parts of its score.
struct UsedMemory {
  Id memory_id = 0;
  int rank = 0;  // 0 = best
  double relevance = 0;
  double recency = 0;
  double importance = 0;
  double score = 0;
};

struct GenerationRetrieval {
  std::string mode;  // "vector" | "keyword" | "off"; "" = no record
  std::vector<UsedMemory> used;
};

struct KeywordHit {
  Id memory_id = 0;  // hits come best first (FTS5 bm25 order)
};

// Everything a finished turn writes to the memory store: its messages' memories (upserted),
// what its generation used (when generation_id != 0), and retrieval times of memories.
struct TurnWrite {
  std::vector<MemoryRecord> memories;
  Id generation_id = 0;
  GenerationRetrieval retrieval;
  std::vector<Id> touched;  // last_retrieved_at = touched_at
  std::int64_t touched_at = 0;
};

// A removed memory: its space and id (to drop it from the vector index).
struct RemovedMemory {
  std::int64_t space_key = 0;
  Id memory_id = 0;
};

class MemoryStore {
 public:
  virtual ~MemoryStore() = default;

  // Inserts, or replaces the memory of the same message_id (text, importance, embedding...).
  // Returns the stored record (with id; without the embedding).
  virtual Result<MemoryRecord> upsert(const MemoryRecord& m) = 0;
  virtual Result<std::vector<RemovedMemory>> delete_messages(std::span<const Id> message_ids) = 0;
  // Deletes the memories of `chat_id` whose message no longer exists (after a message and its
  // subtree were deleted).
  virtual Result<std::vector<RemovedMemory>> delete_orphans(Id chat_id) = 0;
  // The (space, id) of every memory of a chat, read only: taken before the chat is deleted (its
  // memories then go with it), so the indexes can drop them afterwards.
  virtual Result<std::vector<RemovedMemory>> chat_memories(Id chat_id) = 0;
  // Space removal: every memory of a character of the user (any scope), or of a whole user.
  virtual Result<std::vector<std::int64_t>> delete_character(Id user_id, Id character_id) = 0;
  virtual Result<std::vector<std::int64_t>> delete_user(Id user_id) = 0;

  // Ids and embeddings of a space made by `embedder` (rows from other embedders are left out).
  virtual Status load_space(std::int64_t space_key, const std::string& embedder,
                            std::vector<Id>& ids, std::vector<float>& vectors, int dims) = 0;
  virtual Result<std::vector<MemoryRecord>> get(std::span<const Id> ids) = 0;  // no embeddings
  virtual Result<std::int64_t> space_size(std::int64_t space_key) = 0;
  // The newest `limit` memories of a space (no embeddings), newest first.
  virtual Result<std::vector<MemoryRecord>> recent(std::int64_t space_key, int limit) = 0;
  // FTS5 keyword search in one space; `query` is free text (quoted safely), best first.
  virtual Result<std::vector<KeywordHit>> keyword_search(std::int64_t space_key,
                                                         const std::string& query, int limit) = 0;
  virtual Status touch(std::span<const Id> ids, std::int64_t now_ms) = 0;

  virtual Status record_generation(Id generation_id, const GenerationRetrieval& r) = 0;
  virtual Result<GenerationRetrieval> read_generation(Id generation_id) = 0;

  // The whole TurnWrite, returning the stored memories (in order, with ids; no embeddings).
  // Stores that can should make it one write (SQLite: one job of the group commit); this
  // default issues the calls one by one.
  virtual Result<std::vector<MemoryRecord>> write_turn(const TurnWrite& w) {
    std::vector<MemoryRecord> out;
    for (auto& m : w.memories) {
      auto r = upsert(m);
      if (!r.ok()) return r.error();
      out.push_back(std::move(r).value());
    }
    if (w.generation_id != 0) TROUPE_TRY_STATUS(record_generation(w.generation_id, w.retrieval));
    if (!w.touched.empty()) TROUPE_TRY_STATUS(touch(w.touched, w.touched_at));
    return out;
  }
};

}  // namespace troupe::store
