// PgMemoryStore: MemoryStore on PostgreSQL. Memories live in `memories` (embedding as float32
// little-endian bytea, length checked), keyword search uses PostgreSQL full-text search (a stored
// tsvector column with the 'simple' configuration, GIN-indexed, ranked by ts_rank), and
// generation_retrievals / generation_memories record what each generation used. Same semantics
// and limits as sqlite/SqliteMemoryStore; only the keyword ranking differs (see README.md).
// Thread-safety: safe for concurrent use from any non-I/O thread (blocking).
#pragma once

#include "store/MemoryStore.h"

namespace troupe::store::postgres {

class PgDb;

class PgMemoryStore final : public MemoryStore {
 public:
  explicit PgMemoryStore(PgDb& db) : db_(db) {}

  Result<MemoryRecord> upsert(const MemoryRecord& m) override;
  Result<std::vector<RemovedMemory>> delete_messages(std::span<const Id> message_ids) override;
  Result<std::vector<RemovedMemory>> delete_orphans(Id chat_id) override;
  Result<std::vector<RemovedMemory>> chat_memories(Id chat_id) override;
  Result<std::vector<std::int64_t>> delete_character(Id user_id, Id character_id) override;
  Result<std::vector<std::int64_t>> delete_user(Id user_id) override;
  Status load_space(std::int64_t space_key, const std::string& embedder, std::vector<Id>& ids,
                    std::vector<float>& vectors, int dims) override;
  Result<std::vector<MemoryRecord>> get(std::span<const Id> ids) override;
  Result<std::int64_t> space_size(std::int64_t space_key) override;
  Result<std::vector<MemoryRecord>> recent(std::int64_t space_key, int limit) override;
  Result<std::vector<KeywordHit>> keyword_search(std::int64_t space_key, const std::string& query,
                                                 int limit) override;
  Status touch(std::span<const Id> ids, std::int64_t now_ms) override;
  Status record_generation(Id generation_id, const GenerationRetrieval& r) override;
  Result<GenerationRetrieval> read_generation(Id generation_id) override;

  // Free text → a tsquery text of quoted lexemes joined by | ("" when no usable word): the same
  // words as the embedded store's FTS5 query (at most 32, lower-cased, at least two bytes, valid
  // UTF-8 only); quotes inside words are doubled, so no input can inject tsquery syntax.
  static std::string ts_query(const std::string& text);

 private:
  PgDb& db_;
};

}  // namespace troupe::store::postgres
