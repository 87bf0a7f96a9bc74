#include "store/postgres/PgMemoryStore.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <set>

#include "store/postgres/PgDb.h"

namespace troupe::store::postgres {
namespace {

constexpr std::size_t kMaxIds = 500;       // ids per statement (one bigint[] parameter)
constexpr int kMaxLimit = 10'000;          // rows per recent() / keyword_search()
constexpr std::size_t kMaxDims = 16'384;   // floats per stored embedding
constexpr std::size_t kMaxUsed = 10'000;   // memories recorded per generation
constexpr int kMaxTerms = 32;              // words per keyword query

constexpr const char* kColumns =
    "id, space_key, user_id, character_id, chat_id, message_id, speaker, text, created_at, "
    "last_retrieved_at, importance, embedder";

MemoryRecord read_record(const PgResult& r, int row) {
  MemoryRecord m;
  m.id = r.col_int(row, 0);
  m.space_key = r.col_int(row, 1);
  m.user_id = r.col_int(row, 2);
  m.character_id = r.col_int(row, 3);
  m.chat_id = r.col_int(row, 4);
  m.message_id = r.col_int(row, 5);
  m.speaker = r.col_text(row, 6);
  m.text = r.col_text(row, 7);
  m.created_at = r.col_int(row, 8);
  m.last_retrieved_at = r.col_int(row, 9);
  m.importance = static_cast<double>(r.col_int(row, 10)) / 1e6;  // millionths
  m.embedder = r.col_text(row, 11);
  return m;
}

std::int64_t micros(double v) { return static_cast<std::int64_t>(v * 1e6); }

// A bigint[] literal ("{1,2,3}"): integers only, so nothing needs quoting.
std::string id_array(std::span<const Id> ids) {
  std::string s = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  s += '}';
  return s;
}

// float32 little-endian bytes, whatever the host's byte order.
std::string encode_floats(const std::vector<float>& v) {
  std::string out(v.size() * sizeof(float), '\0');
  std::memcpy(out.data(), v.data(), out.size());
  if constexpr (std::endian::native == std::endian::big) {
    for (std::size_t i = 0; i < out.size(); i += 4) {
      std::swap(out[i], out[i + 3]);
      std::swap(out[i + 1], out[i + 2]);
    }
  }
  return out;
}

void decode_floats(const std::string& bytes, float* out) {
  if constexpr (std::endian::native == std::endian::big) {
    std::string b = bytes;
    for (std::size_t i = 0; i < b.size(); i += 4) {
      std::swap(b[i], b[i + 3]);
      std::swap(b[i + 1], b[i + 2]);
    }
    std::memcpy(out, b.data(), b.size());
  } else {
    std::memcpy(out, bytes.data(), bytes.size());
  }
}

// DELETE ... RETURNING space_key, id in the caller's transaction.
Result<std::vector<RemovedMemory>> removed_rows(Result<PgResult> r) {
  if (!r.ok()) return r.error();
  std::vector<RemovedMemory> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back({r->col_int(i, 0), r->col_int(i, 1)});
  return out;
}

std::vector<std::int64_t> spaces_of(const std::vector<RemovedMemory>& removed) {
  std::set<std::int64_t> s;
  for (auto& r : removed) s.insert(r.space_key);
  return {s.begin(), s.end()};
}

bool word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80 || c == '\''; }

bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    if (n == 2 && c < 0xC2) return false;  // overlong
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

std::string PgMemoryStore::ts_query(const std::string& text) {
  std::string out;
  std::set<std::string> seen;
  std::size_t i = 0;
  while (i < text.size() && static_cast<int>(seen.size()) < kMaxTerms) {
    while (i < text.size() && !word_byte(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t j = i;
    while (j < text.size() && word_byte(static_cast<unsigned char>(text[j]))) ++j;
    std::string w = text.substr(i, j - i);
    i = j;
    while (!w.empty() && w.front() == '\'') w.erase(w.begin());
    while (!w.empty() && w.back() == '\'') w.pop_back();
    if (w.size() < 2 || !valid_utf8(w)) continue;
    for (auto& ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!seen.insert(w).second) continue;
    std::string quoted = "'";
    for (char ch : w) {
      if (ch == '\'') quoted += '\'';
      quoted += ch;
    }
    quoted += '\'';
    if (!out.empty()) out += " | ";
    out += quoted;
  }
  return out;
}

Result<MemoryRecord> PgMemoryStore::upsert(const MemoryRecord& m) {
  if (m.message_id == 0 || m.chat_id == 0) {
    return make_error(Errc::bad_request, "memory needs a chat and a message");
  }
  if (!m.embedding.empty() && m.embedder.empty()) {
    return make_error(Errc::bad_request, "an embedding needs its embedder name");
  }
  if (m.embedding.size() > kMaxDims) {
    return make_error(Errc::too_large, "embedding has more than " + std::to_string(kMaxDims) +
                                           " dimensions");
  }
  const PgParam emb = m.embedding.empty() ? PgParam::null() : PgParam::bytea(encode_floats(m.embedding));
  const std::int64_t importance = micros(std::clamp(m.importance, 0.0, 1.0));
  return db_.write([&](PgConnection& c) -> Result<MemoryRecord> {
    auto r = c.query(
        "INSERT INTO memories(space_key, user_id, character_id, chat_id, message_id, speaker, "
        "text, created_at, importance, embedder, embedding) "
        "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "ON CONFLICT (message_id) DO UPDATE SET space_key = excluded.space_key, "
        "speaker = excluded.speaker, text = excluded.text, importance = excluded.importance, "
        "embedder = excluded.embedder, embedding = excluded.embedding "
        "RETURNING " + std::string(kColumns),
        {m.space_key, m.user_id, m.character_id, m.chat_id, m.message_id, m.speaker, m.text,
         m.created_at, importance, m.embedder, emb});
    if (!r.ok()) return r.error();
    if (r->empty()) return make_error(Errc::internal, "memory upsert returned no row");
    return read_record(*r, 0);
  });
}

Result<std::vector<RemovedMemory>> PgMemoryStore::delete_messages(std::span<const Id> message_ids) {
  return db_.write([&](PgConnection& c) -> Result<std::vector<RemovedMemory>> {
    std::vector<RemovedMemory> all;
    for (std::size_t at = 0; at < message_ids.size(); at += kMaxIds) {
      auto part = message_ids.subspan(at, std::min(kMaxIds, message_ids.size() - at));
      auto r = removed_rows(c.query(
          "DELETE FROM memories WHERE message_id = ANY($1::bigint[]) RETURNING space_key, id",
          {id_array(part)}));
      if (!r.ok()) return r.error();
      all.insert(all.end(), r->begin(), r->end());
    }
    return all;
  });
}

Result<std::vector<RemovedMemory>> PgMemoryStore::delete_orphans(Id chat_id) {
  return db_.write([&](PgConnection& c) {
    return removed_rows(c.query(
        "DELETE FROM memories WHERE chat_id = $1 AND NOT EXISTS "
        "(SELECT 1 FROM messages WHERE messages.id = memories.message_id) "
        "RETURNING space_key, id",
        {chat_id}));
  });
}

Result<std::vector<RemovedMemory>> PgMemoryStore::chat_memories(Id chat_id) {
  return db_.read([&](PgConnection& c) {
    return removed_rows(c.query("SELECT space_key, id FROM memories WHERE chat_id = $1", {chat_id}));
  });
}

Result<std::vector<std::int64_t>> PgMemoryStore::delete_character(Id user_id, Id character_id) {
  auto r = db_.write([&](PgConnection& c) {
    return removed_rows(c.query(
        "DELETE FROM memories WHERE user_id = $1 AND character_id = $2 RETURNING space_key, id",
        {user_id, character_id}));
  });
  if (!r.ok()) return r.error();
  return spaces_of(*r);
}

Result<std::vector<std::int64_t>> PgMemoryStore::delete_user(Id user_id) {
  auto r = db_.write([&](PgConnection& c) {
    return removed_rows(
        c.query("DELETE FROM memories WHERE user_id = $1 RETURNING space_key, id", {user_id}));
  });
  if (!r.ok()) return r.error();
  return spaces_of(*r);
}

Status PgMemoryStore::load_space(std::int64_t space_key, const std::string& embedder,
                                 std::vector<Id>& ids, std::vector<float>& vectors, int dims) {
  if (dims <= 0) return make_error(Errc::bad_request, "dims must be positive");
  if (static_cast<std::size_t>(dims) > kMaxDims) return make_error(Errc::bad_request, "dims too large");
  ids.clear();
  vectors.clear();
  const std::size_t bytes = static_cast<std::size_t>(dims) * sizeof(float);
  return db_.read([&](PgConnection& c) -> Status {
    ids.clear();
    vectors.clear();
    // Rows of another dimension are not this index's data: filtered by length in the query.
    auto r = c.query(
        "SELECT id, embedding FROM memories WHERE space_key = $1 AND embedder = $2 "
        "AND embedding IS NOT NULL AND octet_length(embedding) = $3 ORDER BY id",
        {space_key, embedder, static_cast<std::int64_t>(bytes)});
    if (!r.ok()) return r.error();
    const int n = r->rows();
    ids.reserve(static_cast<std::size_t>(n));
    vectors.reserve(static_cast<std::size_t>(n) * static_cast<std::size_t>(dims));
    for (int i = 0; i < n; ++i) {
      std::string blob = r->col_bytea(i, 1);
      if (blob.size() != bytes) continue;
      ids.push_back(r->col_int(i, 0));
      const std::size_t at = vectors.size();
      vectors.resize(at + static_cast<std::size_t>(dims));
      decode_floats(blob, vectors.data() + at);
    }
    return Status{};
  });
}

Result<std::vector<MemoryRecord>> PgMemoryStore::get(std::span<const Id> ids) {
  return db_.read([&](PgConnection& c) -> Result<std::vector<MemoryRecord>> {
    std::vector<MemoryRecord> out;
    for (std::size_t at = 0; at < ids.size(); at += kMaxIds) {
      auto part = ids.subspan(at, std::min(kMaxIds, ids.size() - at));
      auto r = c.query("SELECT " + std::string(kColumns) +
                           " FROM memories WHERE id = ANY($1::bigint[]) ORDER BY id",
                       {id_array(part)});
      if (!r.ok()) return r.error();
      for (int i = 0; i < r->rows(); ++i) out.push_back(read_record(*r, i));
    }
    return out;
  });
}

Result<std::int64_t> PgMemoryStore::space_size(std::int64_t space_key) {
  return db_.read([&](PgConnection& c) -> Result<std::int64_t> {
    auto r = c.query("SELECT count(*) FROM memories WHERE space_key = $1", {space_key});
    if (!r.ok()) return r.error();
    return r->col_int(0, 0);
  });
}

Result<std::vector<MemoryRecord>> PgMemoryStore::recent(std::int64_t space_key, int limit) {
  limit = std::clamp(limit, 0, kMaxLimit);
  return db_.read([&](PgConnection& c) -> Result<std::vector<MemoryRecord>> {
    auto r = c.query("SELECT " + std::string(kColumns) +
                         " FROM memories WHERE space_key = $1 ORDER BY id DESC LIMIT $2",
                     {space_key, limit});
    if (!r.ok()) return r.error();
    std::vector<MemoryRecord> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(read_record(*r, i));
    return out;
  });
}

Result<std::vector<KeywordHit>> PgMemoryStore::keyword_search(std::int64_t space_key,
                                                              const std::string& query, int limit) {
  limit = std::clamp(limit, 0, kMaxLimit);
  const std::string q = ts_query(query);
  if (q.empty() || limit == 0) return std::vector<KeywordHit>{};
  return db_.read([&](PgConnection& c) -> Result<std::vector<KeywordHit>> {
    // Normalization 1 divides the rank by 1 + log(document length): like bm25, a short memory
    // that matches outranks a long one with the same matches.
    auto r = c.query(
        "SELECT m.id FROM memories m, to_tsquery('simple'::regconfig, $1) q "
        "WHERE m.space_key = $2 AND m.tsv @@ q ORDER BY ts_rank(m.tsv, q, 1) DESC, m.id LIMIT $3",
        {q, space_key, limit});
    if (!r.ok()) return r.error();
    std::vector<KeywordHit> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back({r->col_int(i, 0)});
    return out;
  });
}

Status PgMemoryStore::touch(std::span<const Id> ids, std::int64_t now_ms) {
  if (ids.empty()) return {};
  return db_.write([&](PgConnection& c) -> Status {
    for (std::size_t at = 0; at < ids.size(); at += kMaxIds) {
      auto part = ids.subspan(at, std::min(kMaxIds, ids.size() - at));
      auto r = c.query("UPDATE memories SET last_retrieved_at = $1 WHERE id = ANY($2::bigint[])",
                       {now_ms, id_array(part)});
      if (!r.ok()) return r.error();
    }
    return Status{};
  });
}

Status PgMemoryStore::record_generation(Id generation_id, const GenerationRetrieval& r) {
  if (r.used.size() > kMaxUsed) return make_error(Errc::too_large, "too many used memories");
  return db_.write([&](PgConnection& c) -> Status {
    auto up = c.query(
        "INSERT INTO generation_retrievals(generation_id, mode) VALUES($1, $2) "
        "ON CONFLICT (generation_id) DO UPDATE SET mode = excluded.mode",
        {generation_id, r.mode});
    if (!up.ok()) return up.error();
    auto del = c.query("DELETE FROM generation_memories WHERE generation_id = $1", {generation_id});
    if (!del.ok()) return del.error();
    for (auto& u : r.used) {
      auto ins = c.query(
          "INSERT INTO generation_memories(generation_id, rank, memory_id, relevance, recency, "
          "importance, score) VALUES($1, $2, $3, $4, $5, $6, $7)",
          {generation_id, u.rank, u.memory_id, micros(u.relevance), micros(u.recency),
           micros(u.importance), micros(u.score)});
      if (!ins.ok()) return ins.error();
    }
    return Status{};
  });
}

Result<GenerationRetrieval> PgMemoryStore::read_generation(Id generation_id) {
  return db_.snapshot([&](PgConnection& c) -> Result<GenerationRetrieval> {
    GenerationRetrieval out;
    auto mode = c.query("SELECT mode FROM generation_retrievals WHERE generation_id = $1",
                        {generation_id});
    if (!mode.ok()) return mode.error();
    if (!mode->empty()) out.mode = mode->col_text(0, 0);
    auto used = c.query(
        "SELECT memory_id, rank, relevance, recency, importance, score FROM generation_memories "
        "WHERE generation_id = $1 ORDER BY rank",
        {generation_id});
    if (!used.ok()) return used.error();
    for (int i = 0; i < used->rows(); ++i) {
      out.used.push_back({used->col_int(i, 0), static_cast<int>(used->col_int(i, 1)),
                          used->col_int(i, 2) / 1e6, used->col_int(i, 3) / 1e6,
                          used->col_int(i, 4) / 1e6, used->col_int(i, 5) / 1e6});
    }
    return out;
  });
}

}  // namespace troupe::store::postgres
