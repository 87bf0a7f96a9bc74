// SqliteMemoryStore: MemoryStore on SqliteDb. Memories live in `memories` (embedding as a float32
// BLOB), an external-content FTS5 table kept in step by triggers serves keyword search (bm25),
// and generation_retrievals / generation_memories record what each generation used.
// Thread-safety: safe for concurrent use from any non-I/O thread (blocking).
#pragma once

#include "store/MemoryStore.h"

namespace troupe::store::sqlite {

class SqliteDb;

class SqliteMemoryStore final : public MemoryStore {
 public:
  explicit SqliteMemoryStore(SqliteDb& db) : db_(db) {}

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
  // One job of the writer's group commit for the whole turn.
  Result<std::vector<MemoryRecord>> write_turn(const TurnWrite& w) override;

  // Free text → an FTS5 query of quoted terms joined by OR ("" when no usable word). At most
  // 32 terms; quotes inside words are doubled, so no input can inject FTS5 syntax.
  static std::string fts_query(const std::string& text);

 private:
  SqliteDb& db_;
};

}  // namespace troupe::store::sqlite
