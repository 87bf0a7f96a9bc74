#include "store/sqlite/SqliteMemoryStore.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <set>

#include "store/sqlite/SqliteDb.h"

namespace troupe::store::sqlite {
namespace {

constexpr std::size_t kMaxIds = 500;  // ids per IN (...) batch
constexpr int kMaxLimit = 10'000;

constexpr const char* kColumns =
    "id, space_key, user_id, character_id, chat_id, message_id, speaker, text, created_at, "
    "last_retrieved_at, importance, embedder";

MemoryRecord read_record(const Stmt& st) {
  MemoryRecord m;
  m.id = st.col_int(0);
  m.space_key = st.col_int(1);
  m.user_id = st.col_int(2);
  m.character_id = st.col_int(3);
  m.chat_id = st.col_int(4);
  m.message_id = st.col_int(5);
  m.speaker = st.col_text(6);
  m.text = st.col_text(7);
  m.created_at = st.col_int(8);
  m.last_retrieved_at = st.col_int(9);
  // Importance and score parts are stored in millionths (statements bind integers only).
  m.importance = static_cast<double>(st.col_int(10)) / 1e6;
  m.embedder = st.col_text(11);
  return m;
}

std::string placeholders(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += i ? ",?" : "?";
  return s;
}

// Collects (space, id) of rows matching `where`, then deletes them, in the caller's transaction.
Result<std::vector<RemovedMemory>> delete_where(Connection& c, const std::string& where,
                                                const std::function<void(Stmt&)>& bind) {
  std::vector<RemovedMemory> out;
  {
    auto st = c.prepare("SELECT space_key, id FROM memories WHERE " + where);
    if (!st.ok()) return st.error();
    bind(*st);
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      out.push_back({st->col_int(0), st->col_int(1)});
    }
  }
  auto del = c.prepare("DELETE FROM memories WHERE " + where);
  if (!del.ok()) return del.error();
  bind(*del);
  TROUPE_TRY_STATUS(del->run());
  return out;
}

std::vector<std::int64_t> spaces_of(const std::vector<RemovedMemory>& removed) {
  std::set<std::int64_t> s;
  for (auto& r : removed) s.insert(r.space_key);
  return {s.begin(), s.end()};
}

bool word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80 || c == '\''; }

Status check(const MemoryRecord& m) {
  if (m.message_id == 0 || m.chat_id == 0) return make_error(Errc::bad_request, "memory needs a chat and a message");
  if (!m.embedding.empty() && m.embedder.empty()) {
    return make_error(Errc::bad_request, "an embedding needs its embedder name");
  }
  return {};
}

// Inserts or replaces one memory inside the caller's write transaction.
Result<MemoryRecord> upsert_in(Connection& c, const MemoryRecord& m) {
  auto st = c.prepare(
      "INSERT INTO memories(space_key, user_id, character_id, chat_id, message_id, speaker, "
      "text, created_at, importance, embedder, embedding) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
      "ON CONFLICT(message_id) DO UPDATE SET space_key = excluded.space_key, "
      "speaker = excluded.speaker, text = excluded.text, importance = excluded.importance, "
      "embedder = excluded.embedder, embedding = excluded.embedding "
      "RETURNING " + std::string(kColumns));
  if (!st.ok()) return st.error();
  st->bind_int(1, m.space_key).bind_int(2, m.user_id).bind_int(3, m.character_id);
  st->bind_int(4, m.chat_id).bind_int(5, m.message_id).bind_text(6, m.speaker);
  st->bind_text(7, m.text).bind_int(8, m.created_at);
  st->bind_int(9, static_cast<std::int64_t>(std::clamp(m.importance, 0.0, 1.0) * 1e6));
  st->bind_text(10, m.embedder);
  if (m.embedding.empty()) {
    st->bind_null(11);
  } else {
    st->bind_blob(11, std::string_view(reinterpret_cast<const char*>(m.embedding.data()),
                                       m.embedding.size() * sizeof(float)));
  }
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return make_error(Errc::internal, "memory upsert returned no row");
  MemoryRecord out = read_record(*st);
  TROUPE_TRY_STATUS(st->run());
  return out;
}

Status touch_in(Connection& c, std::span<const Id> ids, std::int64_t now_ms) {
  for (std::size_t at = 0; at < ids.size(); at += kMaxIds) {
    auto part = ids.subspan(at, std::min(kMaxIds, ids.size() - at));
    auto st = c.prepare("UPDATE memories SET last_retrieved_at = ? WHERE id IN (" +
                        placeholders(part.size()) + ")");
    if (!st.ok()) return st.error();
    st->bind_int(1, now_ms);
    for (std::size_t i = 0; i < part.size(); ++i) st->bind_int(static_cast<int>(i + 2), part[i]);
    TROUPE_TRY_STATUS(st->run());
  }
  return {};
}

Status record_in(Connection& c, Id generation_id, const GenerationRetrieval& r) {
  auto st = c.prepare("INSERT OR REPLACE INTO generation_retrievals(generation_id, mode) VALUES(?1, ?2)");
  if (!st.ok()) return st.error();
  st->bind_int(1, generation_id).bind_text(2, r.mode);
  TROUPE_TRY_STATUS(st->run());
  auto del = c.prepare("DELETE FROM generation_memories WHERE generation_id = ?1");
  if (!del.ok()) return del.error();
  del->bind_int(1, generation_id);
  TROUPE_TRY_STATUS(del->run());
  for (auto& u : r.used) {
    auto ins = c.prepare(
        "INSERT INTO generation_memories(generation_id, rank, memory_id, relevance, recency, "
        "importance, score) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!ins.ok()) return ins.error();
    ins->bind_int(1, generation_id).bind_int(2, u.rank).bind_int(3, u.memory_id);
    ins->bind_int(4, static_cast<std::int64_t>(u.relevance * 1e6));
    ins->bind_int(5, static_cast<std::int64_t>(u.recency * 1e6));
    ins->bind_int(6, static_cast<std::int64_t>(u.importance * 1e6));
    ins->bind_int(7, static_cast<std::int64_t>(u.score * 1e6));
    TROUPE_TRY_STATUS(ins->run());
  }
  return {};
}

}  // namespace

std::string SqliteMemoryStore::fts_query(const std::string& text) {
  std::string out;
  std::set<std::string> seen;
  std::size_t i = 0;
  while (i < text.size() && seen.size() < 32) {
    while (i < text.size() && !word_byte(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t j = i;
    while (j < text.size() && word_byte(static_cast<unsigned char>(text[j]))) ++j;
    std::string w = text.substr(i, j - i);
    i = j;
    while (!w.empty() && w.front() == '\'') w.erase(w.begin());
    while (!w.empty() && w.back() == '\'') w.pop_back();
    if (w.size() < 2) continue;
    for (auto& ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!seen.insert(w).second) continue;
    std::string quoted = "\"";
    for (char ch : w) {
      if (ch == '"') quoted += '"';
      quoted += ch;
    }
    quoted += '"';
    if (!out.empty()) out += " OR ";
    out += quoted;
  }
  return out;
}

Result<MemoryRecord> SqliteMemoryStore::upsert(const MemoryRecord& m) {
  TROUPE_TRY_STATUS(check(m));
  return db_.write([&](Connection& c) { return upsert_in(c, m); });
}

Result<std::vector<RemovedMemory>> SqliteMemoryStore::delete_messages(std::span<const Id> message_ids) {
  return db_.write([&](Connection& c) -> Result<std::vector<RemovedMemory>> {
    std::vector<RemovedMemory> all;
    for (std::size_t at = 0; at < message_ids.size(); at += kMaxIds) {
      auto part = message_ids.subspan(at, std::min(kMaxIds, message_ids.size() - at));
      auto r = delete_where(c, "message_id IN (" + placeholders(part.size()) + ")", [&](Stmt& st) {
        for (std::size_t i = 0; i < part.size(); ++i) st.bind_int(static_cast<int>(i + 1), part[i]);
      });
      if (!r.ok()) return r.error();
      all.insert(all.end(), r->begin(), r->end());
    }
    return all;
  });
}

Result<std::vector<RemovedMemory>> SqliteMemoryStore::delete_orphans(Id chat_id) {
  return db_.write([&](Connection& c) {
    return delete_where(c,
                        "chat_id = ?1 AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.id = "
                        "memories.message_id)",
                        [&](Stmt& st) { st.bind_int(1, chat_id); });
  });
}

Result<std::vector<RemovedMemory>> SqliteMemoryStore::chat_memories(Id chat_id) {
  return db_.read([&](Connection& c) -> Result<std::vector<RemovedMemory>> {
    auto st = c.prepare("SELECT space_key, id FROM memories WHERE chat_id = ?1");
    if (!st.ok()) return st.error();
    st->bind_int(1, chat_id);
    std::vector<RemovedMemory> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      out.push_back({st->col_int(0), st->col_int(1)});
    }
    return out;
  });
}

Result<std::vector<std::int64_t>> SqliteMemoryStore::delete_character(Id user_id, Id character_id) {
  auto r = db_.write([&](Connection& c) {
    return delete_where(c, "user_id = ?1 AND character_id = ?2", [&](Stmt& st) {
      st.bind_int(1, user_id).bind_int(2, character_id);
    });
  });
  if (!r.ok()) return r.error();
  return spaces_of(*r);
}

Result<std::vector<std::int64_t>> SqliteMemoryStore::delete_user(Id user_id) {
  auto r = db_.write([&](Connection& c) {
    return delete_where(c, "user_id = ?1", [&](Stmt& st) { st.bind_int(1, user_id); });
  });
  if (!r.ok()) return r.error();
  return spaces_of(*r);
}

Status SqliteMemoryStore::load_space(std::int64_t space_key, const std::string& embedder,
                                     std::vector<Id>& ids, std::vector<float>& vectors, int dims) {
  if (dims <= 0) return make_error(Errc::bad_request, "dims must be positive");
  ids.clear();
  vectors.clear();
  return db_.read([&](Connection& c) -> Status {
    auto st = c.prepare(
        "SELECT id, embedding FROM memories WHERE space_key = ?1 AND embedder = ?2 "
        "AND embedding IS NOT NULL ORDER BY id");
    if (!st.ok()) return st.error();
    st->bind_int(1, space_key).bind_text(2, embedder);
    const std::size_t bytes = static_cast<std::size_t>(dims) * sizeof(float);
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      std::string blob = st->col_blob(1);
      if (blob.size() != bytes) continue;  // another dimension: not this index's data
      ids.push_back(st->col_int(0));
      const std::size_t at = vectors.size();
      vectors.resize(at + static_cast<std::size_t>(dims));
      std::memcpy(vectors.data() + at, blob.data(), bytes);
    }
    return Status{};
  });
}

Result<std::vector<MemoryRecord>> SqliteMemoryStore::get(std::span<const Id> ids) {
  return db_.read([&](Connection& c) -> Result<std::vector<MemoryRecord>> {
    std::vector<MemoryRecord> out;
    for (std::size_t at = 0; at < ids.size(); at += kMaxIds) {
      auto part = ids.subspan(at, std::min(kMaxIds, ids.size() - at));
      auto st = c.prepare("SELECT " + std::string(kColumns) + " FROM memories WHERE id IN (" +
                          placeholders(part.size()) + ")");
      if (!st.ok()) return st.error();
      for (std::size_t i = 0; i < part.size(); ++i) st->bind_int(static_cast<int>(i + 1), part[i]);
      for (;;) {
        auto row = st->step();
        if (!row.ok()) return row.error();
        if (!*row) break;
        out.push_back(read_record(*st));
      }
    }
    return out;
  });
}

Result<std::int64_t> SqliteMemoryStore::space_size(std::int64_t space_key) {
  return db_.read([&](Connection& c) -> Result<std::int64_t> {
    auto st = c.prepare("SELECT count(*) FROM memories WHERE space_key = ?1");
    if (!st.ok()) return st.error();
    st->bind_int(1, space_key);
    auto row = st->step();
    if (!row.ok()) return row.error();
    return *row ? st->col_int(0) : 0;
  });
}

Result<std::vector<MemoryRecord>> SqliteMemoryStore::recent(std::int64_t space_key, int limit) {
  limit = std::clamp(limit, 0, kMaxLimit);
  return db_.read([&](Connection& c) -> Result<std::vector<MemoryRecord>> {
    auto st = c.prepare("SELECT " + std::string(kColumns) +
                        " FROM memories WHERE space_key = ?1 ORDER BY id DESC LIMIT ?2");
    if (!st.ok()) return st.error();
    st->bind_int(1, space_key).bind_int(2, limit);
    std::vector<MemoryRecord> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      out.push_back(read_record(*st));
    }
    return out;
  });
}

Result<std::vector<KeywordHit>> SqliteMemoryStore::keyword_search(std::int64_t space_key,
                                                                  const std::string& query,
                                                                  int limit) {
  limit = std::clamp(limit, 0, kMaxLimit);
  const std::string q = fts_query(query);
  if (q.empty() || limit == 0) return std::vector<KeywordHit>{};
  return db_.read([&](Connection& c) -> Result<std::vector<KeywordHit>> {
    auto st = c.prepare(
        "SELECT m.id, bm25(memories_fts) AS rank FROM memories_fts "
        "JOIN memories m ON m.id = memories_fts.rowid "
        "WHERE memories_fts MATCH ?1 AND m.space_key = ?2 ORDER BY rank LIMIT ?3");
    if (!st.ok()) return st.error();
    st->bind_text(1, q).bind_int(2, space_key).bind_int(3, limit);
    std::vector<KeywordHit> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      out.push_back({st->col_int(0)});
    }
    return out;
  });
}

Status SqliteMemoryStore::touch(std::span<const Id> ids, std::int64_t now_ms) {
  if (ids.empty()) return {};
  return db_.write([&](Connection& c) { return touch_in(c, ids, now_ms); });
}

Status SqliteMemoryStore::record_generation(Id generation_id, const GenerationRetrieval& r) {
  return db_.write([&](Connection& c) { return record_in(c, generation_id, r); });
}

Result<std::vector<MemoryRecord>> SqliteMemoryStore::write_turn(const TurnWrite& w) {
  for (auto& m : w.memories) TROUPE_TRY_STATUS(check(m));
  return db_.write([&](Connection& c) -> Result<std::vector<MemoryRecord>> {
    std::vector<MemoryRecord> out;
    out.reserve(w.memories.size());
    for (auto& m : w.memories) {
      auto r = upsert_in(c, m);
      if (!r.ok()) return r.error();
      out.push_back(std::move(r).value());
    }
    if (w.generation_id != 0) TROUPE_TRY_STATUS(record_in(c, w.generation_id, w.retrieval));
    TROUPE_TRY_STATUS(touch_in(c, w.touched, w.touched_at));
    return out;
  });
}

Result<GenerationRetrieval> SqliteMemoryStore::read_generation(Id generation_id) {
  return db_.snapshot([&](Connection& c) -> Result<GenerationRetrieval> {
    GenerationRetrieval out;
    auto st = c.prepare("SELECT mode FROM generation_retrievals WHERE generation_id = ?1");
    if (!st.ok()) return st.error();
    st->bind_int(1, generation_id);
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (*row) out.mode = st->col_text(0);
    auto used = c.prepare(
        "SELECT memory_id, rank, relevance, recency, importance, score FROM generation_memories "
        "WHERE generation_id = ?1 ORDER BY rank");
    if (!used.ok()) return used.error();
    used->bind_int(1, generation_id);
    for (;;) {
      auto r = used->step();
      if (!r.ok()) return r.error();
      if (!*r) break;
      out.used.push_back({used->col_int(0), static_cast<int>(used->col_int(1)),
                          used->col_int(2) / 1e6, used->col_int(3) / 1e6, used->col_int(4) / 1e6,
                          used->col_int(5) / 1e6});
    }
    return out;
  });
}

}  // namespace troupe::store::sqlite
