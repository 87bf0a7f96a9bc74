#include "memory/service/MemoryServiceImpl.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <spdlog/spdlog.h>
#include <unordered_map>

#include "core/Offload.h"
#include "memory/service/Importance.h"
#include "memory/service/SpaceKey.h"

namespace troupe::memory {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxQueryBytes = 4096;
constexpr std::size_t kMaxMemoryBytes = 4000;
constexpr std::size_t kMaxLimit = 200;
constexpr std::size_t kMaxContextBytes = 600;
constexpr std::size_t kMaxPendingTouches = 4096;
// Weight of the context's vector against the query's in the combined query vector.
constexpr float kContextWeight = 0.15f;

// Cuts at most `max` bytes without splitting a UTF-8 sequence.
std::string clip(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

MemoryServiceImpl::MemoryServiceImpl(MemoryServiceParts parts)
    : p_(parts),
      ranker_(p_.config),
      cache_(p_.clock, p_.config.cache_ttl_ms, p_.config.cache_entries),
      breaker_(p_.clock, CircuitBreakerOptions{std::max(1, p_.config.breaker_failures),
                                              std::max<std::int64_t>(1, p_.config.breaker_open_ms)}) {
  if (auto* r = p_.metrics) {
    const char* modes[3] = {"vector", "keyword", "off"};
    // Finer than the default latency buckets between 0.1 and 100 ms, where retrieval lives, so
    // percentiles read from the histogram (bench/loadgen) are not stuck at a bucket edge.
    const std::vector<double> bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075,
                                        0.01,   0.015,   0.02,   0.03,  0.04,  0.05,  0.075, 0.1,
                                        0.15,   0.25,    0.5,    1,     2.5,   5,     10};
    for (int i = 0; i < 3; ++i) {
      m_.latency[i] = &r->histogram("troupe_memory_retrieval_seconds",
                                    "Memory retrieval latency by mode.", {{"mode", modes[i]}}, bounds);
    }
    m_.cache_hits = &r->counter("troupe_memory_cache_total", "Retrieval cache lookups.", {{"result", "hit"}});
    m_.cache_misses = &r->counter("troupe_memory_cache_total", "Retrieval cache lookups.", {{"result", "miss"}});
    m_.fallbacks = &r->counter("troupe_memory_keyword_fallbacks_total",
                               "Retrievals that fell back from vector to keyword search.");
    m_.breaker = &r->gauge("troupe_memory_breaker_state",
                           "Vector search circuit breaker: 0 closed, 1 open, 2 half-open.");
  }
}

std::int64_t MemoryServiceImpl::space_of(const MemoryScope& s) const {
  return space_key(s, p_.config.scope);
}

void MemoryServiceImpl::note_breaker() {
  if (m_.breaker) m_.breaker->set(static_cast<double>(breaker_.state()));
}

void MemoryServiceImpl::log_slow(std::int64_t space, double ms) {
  const std::int64_t now = p_.clock.now_ms();
  std::int64_t last = last_slow_log_ms_.load();
  if (now - last < 1000 || !last_slow_log_ms_.compare_exchange_strong(last, now)) return;
  const SpaceInfo info = p_.engine->info(static_cast<SpaceId>(space));
  spdlog::warn(
      "{{\"event\":\"memory.slow_search\",\"space\":{},\"size\":{},\"dims\":{},\"index\":\"{}\","
      "\"ms\":{:.3f},\"threshold_ms\":{}}}",
      space, info.size, p_.engine->dims(), info.index_kind, ms, p_.config.slow_search_ms);
}

asio::awaitable<Result<std::vector<Candidate>>> MemoryServiceImpl::load(
    std::vector<std::pair<store::Id, double>> scored) {
  std::vector<store::Id> ids;
  for (auto& [id, _] : scored) ids.push_back(id);
  auto recs = co_await offload(p_.db_pool, [&] { return p_.store.get(ids); });
  if (!recs.ok()) co_return recs.error();
  std::unordered_map<store::Id, double> rel(scored.begin(), scored.end());
  std::vector<Candidate> out;
  for (auto& r : *recs) {  // ids the store no longer has (stale index entries) drop out here
    const double relevance = rel[r.id];
    out.push_back({std::move(r), relevance});
  }
  co_return out;
}

asio::awaitable<Result<std::vector<Candidate>>> MemoryServiceImpl::vector_candidates(
    std::int64_t space, const std::string& q, const std::string& context) {
  const auto dims = static_cast<std::size_t>(p_.embedder->info().dims);
  auto emb = co_await offload(p_.compute_pool, [&]() -> Result<std::vector<float>> {
    // query + kContextWeight * context, re-normalised: the context steers, the query leads.
    std::vector<float> v(2 * dims);
    std::string_view texts[2] = {q, context};
    auto s = p_.embedder->embed(std::span<const std::string_view>(texts, context.empty() ? 1 : 2),
                                std::span<float>(v.data(), context.empty() ? dims : 2 * dims));
    if (!s.ok()) return s.error();
    double n = 0;
    for (std::size_t i = 0; i < dims; ++i) {
      v[i] += kContextWeight * v[dims + i];
      n += double(v[i]) * v[i];
    }
    v.resize(dims);
    if (n > 0) for (auto& x : v) x = static_cast<float>(x / std::sqrt(n));
    return v;
  });
  if (!emb.ok()) {
    breaker_.on_failure();
    co_return emb.error();
  }
  if (std::all_of(emb->begin(), emb->end(), [](float x) { return x == 0.0f; })) {
    // No known word in the query: nothing for vectors to compare; not the engine's fault.
    co_return make_error(Errc::unprocessable, "query has no known words");
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + std::chrono::milliseconds(p_.config.search_timeout_ms);
  const std::size_t k = static_cast<std::size_t>(std::clamp(p_.config.candidates, 1, 10'000));
  Result<std::vector<Hit>> hits = make_error(Errc::internal, "search did not run");
  try {
    hits = co_await p_.engine->search(static_cast<SpaceId>(space), *emb, k, deadline);
  } catch (const std::exception& e) {
    hits = make_error(Errc::internal, std::string("vector search threw: ") + e.what());
  }
  const double ms = seconds_since(t0) * 1000.0;
  if (!hits.ok()) {
    breaker_.on_failure();
    note_breaker();
    co_return hits.error();
  }
  breaker_.on_success();
  note_breaker();
  if (ms > p_.config.slow_search_ms) log_slow(space, ms);
  std::vector<std::pair<store::Id, double>> scored;
  for (auto& h : *hits) scored.emplace_back(static_cast<store::Id>(h.id), h.score);
  co_return co_await load(std::move(scored));
}

asio::awaitable<Result<std::vector<Candidate>>> MemoryServiceImpl::keyword_candidates(
    std::int64_t space, const std::string& q) {
  const int k = std::clamp(p_.config.candidates, 1, 10'000);
  auto hits = co_await offload(p_.db_pool, [&] { return p_.store.keyword_search(space, q, k); });
  if (!hits.ok()) co_return hits.error();
  // bm25 order to relevance: the best hit 1, then linearly down to 1/n.
  std::vector<std::pair<store::Id, double>> scored;
  const double n = static_cast<double>(hits->size());
  for (std::size_t i = 0; i < hits->size(); ++i) {
    scored.emplace_back((*hits)[i].memory_id, (n - static_cast<double>(i)) / n);
  }
  co_return co_await load(std::move(scored));
}

asio::awaitable<RetrievalResult> MemoryServiceImpl::retrieve(RetrievalRequest req) {
  RetrievalResult out;
  const auto t0 = std::chrono::steady_clock::now();
  if (!enabled()) {
    if (m_.latency[2]) m_.latency[2]->observe(seconds_since(t0));
    co_return out;
  }
  const std::int64_t space = space_of(req.scope);
  const std::size_t limit = req.limit > 0 ? std::min<std::size_t>(req.limit, kMaxLimit)
                                          : static_cast<std::size_t>(std::max(0, p_.config.top_k));
  std::string query = clip(std::move(req.query), kMaxQueryBytes);
  std::string context = clip(std::move(req.context), kMaxContextBytes);
  std::sort(req.window_message_ids.begin(), req.window_message_ids.end());
  std::string key = (req.for_prompt ? "p:" : "l:") + std::to_string(limit) + ":";
  for (auto id : req.window_message_ids) key += std::to_string(id) + ",";
  key += "|" + query + "|" + context;
  if (auto hit = cache_.get(space, key)) {
    if (m_.cache_hits) m_.cache_hits->inc();
    co_return std::move(*hit);
  }
  if (m_.cache_misses) m_.cache_misses->inc();
  const std::uint64_t version = cache_.version(space);

  Result<std::vector<Candidate>> cands = make_error(Errc::unavailable, "no vector search");
  out.mode = "keyword";
  if (p_.embedder && p_.engine) {
    if (breaker_.allow()) {
      cands = co_await vector_candidates(space, query, context);
      if (cands.ok()) out.mode = "vector";
    }
    note_breaker();
    if (!cands.ok() && m_.fallbacks) m_.fallbacks->inc();
  }
  if (!cands.ok()) {
    // (A named string: GCC 12 mis-destroys temporaries of a ?: inside co_await.)
    std::string words = query;
    if (!context.empty()) words += "\n" + context;
    cands = co_await keyword_candidates(space, words);
  }
  if (!cands.ok()) {
    spdlog::warn("memory retrieval failed: {}", cands.error().message);
    out.mode = "off";
    if (m_.latency[2]) m_.latency[2]->observe(seconds_since(t0));
    co_return out;
  }
  std::unordered_set<store::Id> window(req.window_message_ids.begin(), req.window_message_ids.end());
  out.items = ranker_.rank(std::move(cands).value(), p_.clock.now_ms(), window, req.for_prompt, limit);
  if (req.for_prompt && !out.items.empty()) {
    std::vector<store::Id> ids;
    for (auto& m : out.items) ids.push_back(m.memory_id);
    note_touched(ids, p_.clock.now_ms());
  }
  cache_.put(space, key, version, out);
  if (auto* h = m_.latency[out.mode == "vector" ? 0 : 1]) h->observe(seconds_since(t0));
  co_return out;
}

void MemoryServiceImpl::note_touched(const std::vector<store::Id>& ids, std::int64_t now_ms) {
  std::vector<store::Id> flush;
  {
    std::lock_guard l(touch_mu_);
    touched_.insert(touched_.end(), ids.begin(), ids.end());
    touched_at_ = now_ms;
    if (touched_.size() >= kMaxPendingTouches) flush.swap(touched_);
  }
  if (flush.empty()) return;
  // No turn has written for a while (retrievals without turns): store them on their own.
  asio::post(p_.db_pool, [store = &p_.store, ids = std::move(flush), now_ms] {
    auto s = store->touch(ids, now_ms);
    if (!s.ok()) spdlog::warn("memory retrieval time not stored: {}", s.error().message);
  });
}

std::vector<store::Id> MemoryServiceImpl::take_touched(std::int64_t& at_ms) {
  std::lock_guard l(touch_mu_);
  at_ms = touched_at_;
  std::vector<store::Id> out;
  out.swap(touched_);
  return out;
}

asio::awaitable<Status> MemoryServiceImpl::remember(MemoryScope scope, store::Message message) {
  std::vector<store::Message> one;
  one.push_back(std::move(message));
  RetrievalResult none;  // named: GCC 12 destroys a prvalue argument of a co_await twice
  co_return co_await remember_turn(scope, std::move(one), 0, std::move(none));
}

asio::awaitable<Status> MemoryServiceImpl::remember_turn(MemoryScope scope,
                                                         std::vector<store::Message> messages,
                                                         store::Id generation_id,
                                                         RetrievalResult used) {
  if (!enabled()) co_return Status{};
  store::TurnWrite w;
  w.generation_id = generation_id;
  if (generation_id != 0) {
    w.retrieval.mode = used.mode;
    int rank = 0;
    for (auto& m : used.items) {
      w.retrieval.used.push_back({m.memory_id, rank++, m.relevance, m.recency, m.importance, m.score});
    }
  }
  std::vector<store::Id> emptied;  // messages whose text is gone: their memory is forgotten
  const std::int64_t space = space_of(scope);
  for (auto& message : messages) {
    if (message.content.empty()) {
      emptied.push_back(message.id);
      continue;
    }
    store::MemoryRecord r;
    r.space_key = space;
    r.user_id = scope.user_id;
    r.character_id = scope.character_id;
    r.chat_id = message.chat_id;
    r.message_id = message.id;
    r.speaker = message.role;
    r.text = clip(std::move(message.content), kMaxMemoryBytes);
    r.created_at = message.created_at ? message.created_at : p_.clock.now_ms();
    r.importance = importance_of(r.text);
    w.memories.push_back(std::move(r));
  }
  if (!emptied.empty()) {
    auto s = co_await forget(messages.front().chat_id, std::move(emptied));
    if (!s.ok()) co_return s;
  }
  if (p_.embedder && !w.memories.empty()) {
    const auto dims = static_cast<std::size_t>(p_.embedder->info().dims);
    auto v = co_await offload(p_.compute_pool, [&]() -> Result<std::vector<float>> {
      std::vector<std::string_view> texts;
      for (auto& r : w.memories) texts.push_back(r.text);
      std::vector<float> out(texts.size() * dims);
      auto s = p_.embedder->embed(texts, out);
      if (!s.ok()) return s.error();
      return out;
    });
    if (v.ok()) {
      for (std::size_t i = 0; i < w.memories.size(); ++i) {
        w.memories[i].embedder = p_.embedder->info().name;
        w.memories[i].embedding.assign(v->begin() + static_cast<std::ptrdiff_t>(i * dims),
                                       v->begin() + static_cast<std::ptrdiff_t>((i + 1) * dims));
      }
    } else {
      spdlog::warn("messages of chat {}: not embedded ({}); kept for keyword search",
                   w.memories.front().chat_id, v.error().message);
    }
  }
  if (w.memories.empty() && w.generation_id == 0) co_return Status{};
  w.touched = take_touched(w.touched_at);
  // The write and the index update on one DB thread, back to back: one hop for the whole turn.
  auto stored = co_await offload(p_.db_pool, [&]() -> Result<std::vector<store::MemoryRecord>> {
    auto r = p_.store.write_turn(w);
    if (!r.ok() || !p_.engine) return r;
    std::vector<VectorId> ids;
    std::vector<float> rows;
    for (std::size_t i = 0; i < r->size() && i < w.memories.size(); ++i) {
      if (w.memories[i].embedding.empty()) continue;
      ids.push_back(static_cast<VectorId>((*r)[i].id));
      rows.insert(rows.end(), w.memories[i].embedding.begin(), w.memories[i].embedding.end());
    }
    if (!ids.empty()) {
      auto s = p_.engine->upsert(static_cast<SpaceId>(space), ids, rows);
      if (!s.ok()) spdlog::warn("memory space {}: index not updated: {}", space, s.error().message);
    }
    return r;
  });
  if (!stored.ok()) co_return stored.error();
  if (!w.memories.empty()) {
    cache_.invalidate(space);
    changed(space);
  }
  co_return Status{};
}

void MemoryServiceImpl::removed(const std::vector<store::RemovedMemory>& gone) {
  std::map<std::int64_t, std::vector<VectorId>> by_space;
  for (auto& g : gone) by_space[g.space_key].push_back(static_cast<VectorId>(g.memory_id));
  for (auto& [space, ids] : by_space) {
    if (p_.engine) {
      auto s = p_.engine->remove(static_cast<SpaceId>(space), ids);
      if (!s.ok()) spdlog::warn("memory space {}: index not updated: {}", space, s.error().message);
    }
    cache_.invalidate(space);
    changed(space);
  }
}

void MemoryServiceImpl::dropped(const std::vector<std::int64_t>& spaces) {
  for (auto space : spaces) {
    if (p_.engine) {
      auto s = p_.engine->drop_space(static_cast<SpaceId>(space));
      if (!s.ok()) spdlog::warn("memory space {}: index not dropped: {}", space, s.error().message);
    }
    cache_.invalidate(space);
    changed(space);
  }
}

void MemoryServiceImpl::invalidate_space(std::int64_t space) {
  if (p_.engine) {
    // drop_space forgets the resident index and its segment file, never the stored memories.
    auto s = p_.engine->drop_space(static_cast<SpaceId>(space));
    if (!s.ok()) spdlog::warn("memory space {}: index not dropped: {}", space, s.error().message);
  }
  cache_.invalidate(space);
}

asio::awaitable<Status> MemoryServiceImpl::forget(store::Id chat_id, std::vector<store::Id> message_ids) {
  auto gone = co_await offload(p_.db_pool, [&] {
    return message_ids.empty() ? p_.store.delete_orphans(chat_id) : p_.store.delete_messages(message_ids);
  });
  if (!gone.ok()) co_return gone.error();
  co_await offload(p_.compute_pool, [&] { removed(*gone); });
  co_return Status{};
}

asio::awaitable<Status> MemoryServiceImpl::forget_character(store::Id user_id, store::Id character_id) {
  auto spaces = co_await offload(p_.db_pool, [&] { return p_.store.delete_character(user_id, character_id); });
  if (!spaces.ok()) co_return spaces.error();
  // The character-scope space exists even when it held nothing yet (an index may be open).
  spaces->push_back(space_of(MemoryScope{user_id, character_id, 0}));
  co_await offload(p_.compute_pool, [&] { dropped(*spaces); });
  co_return Status{};
}

asio::awaitable<Result<std::vector<store::RemovedMemory>>> MemoryServiceImpl::chat_memories(
    store::Id chat_id) {
  co_return co_await offload(p_.db_pool, [&] { return p_.store.chat_memories(chat_id); });
}

asio::awaitable<void> MemoryServiceImpl::forget_listed(std::vector<store::RemovedMemory> gone) {
  if (gone.empty()) co_return;
  co_await offload(p_.compute_pool, [&] { removed(gone); });
}

asio::awaitable<Status> MemoryServiceImpl::forget_user(store::Id user_id) {
  auto spaces = co_await offload(p_.db_pool, [&] { return p_.store.delete_user(user_id); });
  if (!spaces.ok()) co_return spaces.error();
  co_await offload(p_.compute_pool, [&] { dropped(*spaces); });
  co_return Status{};
}

asio::awaitable<Status> MemoryServiceImpl::record(store::Id generation_id, const RetrievalResult& used) {
  store::GenerationRetrieval gr;
  gr.mode = used.mode;
  int rank = 0;
  for (auto& m : used.items) {
    gr.used.push_back({m.memory_id, rank++, m.relevance, m.recency, m.importance, m.score});
  }
  co_return co_await offload(p_.db_pool, [&] { return p_.store.record_generation(generation_id, gr); });
}

asio::awaitable<Result<store::GenerationRetrieval>> MemoryServiceImpl::used_by(store::Id generation_id) {
  co_return co_await offload(p_.db_pool, [&] { return p_.store.read_generation(generation_id); });
}

asio::awaitable<Result<RetrievalResult>> MemoryServiceImpl::used_memories(store::Id generation_id) {
  co_return co_await offload(p_.db_pool, [&]() -> Result<RetrievalResult> {
    auto gr = p_.store.read_generation(generation_id);
    if (!gr.ok()) return gr.error();
    RetrievalResult out;
    out.mode = gr->mode;
    if (gr->used.empty()) return out;
    std::vector<store::Id> ids;
    ids.reserve(gr->used.size());
    for (auto& u : gr->used) ids.push_back(u.memory_id);
    auto recs = p_.store.get(ids);
    if (!recs.ok()) return recs.error();
    std::unordered_map<store::Id, const store::MemoryRecord*> by_id;
    for (auto& r : *recs) by_id.emplace(r.id, &r);
    std::vector<store::UsedMemory> used = gr->used;
    std::sort(used.begin(), used.end(), [](auto& a, auto& b) { return a.rank < b.rank; });
    for (auto& u : used) {
      auto it = by_id.find(u.memory_id);
      if (it == by_id.end()) continue;  // forgotten since (message edited away or deleted)
      const auto& r = *it->second;
      RetrievedMemory m;
      m.memory_id = r.id;
      m.message_id = r.message_id;
      m.chat_id = r.chat_id;
      m.speaker = r.speaker;
      m.text = r.text;
      m.created_at = r.created_at;
      m.relevance = u.relevance;
      m.recency = u.recency;
      m.importance = u.importance;
      m.score = u.score;
      m.rank = u.rank;
      out.items.push_back(std::move(m));
    }
    return out;
  });
}

}  // namespace troupe::memory
