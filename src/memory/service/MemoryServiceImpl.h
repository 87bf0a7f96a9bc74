// MemoryServiceImpl: MemoryService over a MemoryStore (source of truth, FTS5 keyword search),
// an optional Embedder and VectorEngine (vector retrieval), a result cache and a circuit breaker.
// Retrieval: embed the query on the compute pool, vector search with a deadline
// (memory.search_timeout_ms); when the breaker is open, the search fails or misses its deadline,
// or there is no embedder, keyword search over FTS5 instead (mode "keyword"). Candidates are
// ranked by Ranker. Searches slower than memory.slow_search_ms are logged (at most one a second).
// Nodes sharing one store: every change of a space is reported to the space-changed hook (the
// wiring publishes it on the bus); invalidate_space() applies another node's change here.
// Thread-safety: every member may be called from any coroutine concurrently; `parts` must outlive
// the service. on_space_changed() only before the service is used.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <boost/asio/thread_pool.hpp>

#include "core/CircuitBreaker.h"
#include "core/Clock.h"
#include "core/Config.h"
#include "core/Metrics.h"
#include "memory/Embedder.h"
#include "memory/Memory.h"
#include "memory/VectorEngine.h"
#include "memory/service/Ranker.h"
#include "memory/service/ResultCache.h"
#include "store/MemoryStore.h"

namespace troupe::memory {

struct MemoryServiceParts {
  const MemoryConfig& config;
  store::MemoryStore& store;
  boost::asio::thread_pool& db_pool;       // store calls
  boost::asio::thread_pool& compute_pool;  // embedding and index updates
  Embedder* embedder = nullptr;            // null: keyword-only
  VectorEngine* engine = nullptr;          // null: keyword-only
  const Clock& clock;
  MetricsRegistry* metrics = nullptr;
};

class MemoryServiceImpl final : public MemoryService {
 public:
  explicit MemoryServiceImpl(MemoryServiceParts parts);

  bool enabled() const override { return p_.config.enabled; }
  boost::asio::awaitable<RetrievalResult> retrieve(RetrievalRequest req) override;
  boost::asio::awaitable<Status> remember(MemoryScope scope, store::Message message) override;
  // One embedding batch on the compute pool, then one DB-pool hop that writes everything in one
  // store write (memories, the generation's record, retrieval times noted since the last write)
  // and updates the vector index.
  boost::asio::awaitable<Status> remember_turn(MemoryScope scope, std::vector<store::Message> messages,
                                               store::Id generation_id, RetrievalResult used) override;
  boost::asio::awaitable<Status> forget(store::Id chat_id,
                                        std::vector<store::Id> message_ids) override;
  boost::asio::awaitable<Status> forget_character(store::Id user_id,
                                                  store::Id character_id) override;
  boost::asio::awaitable<Result<std::vector<store::RemovedMemory>>> chat_memories(
      store::Id chat_id) override;
  boost::asio::awaitable<void> forget_listed(std::vector<store::RemovedMemory> gone) override;
  boost::asio::awaitable<Status> forget_user(store::Id user_id) override;
  boost::asio::awaitable<Status> record(store::Id generation_id,
                                        const RetrievalResult& used) override;
  boost::asio::awaitable<Result<RetrievalResult>> used_memories(store::Id generation_id) override;
  boost::asio::awaitable<Result<store::GenerationRetrieval>> used_by(
      store::Id generation_id) override;

  // Called (on any thread) after this service changed a space: memories added or removed, or the
  // space dropped. Set once, before the service is used.
  using SpaceChanged = std::function<void(std::int64_t space)>;
  void on_space_changed(SpaceChanged hook) { space_changed_ = std::move(hook); }
  // Another node changed `space` in the shared store: drops the space's index residency and its
  // segment file (the next search reloads it from the store) and its retrieval-cache entries.
  // Stored memories are untouched. Any thread.
  void invalidate_space(std::int64_t space);

  CircuitBreaker::State breaker_state() const { return breaker_.state(); }
  std::int64_t space_of(const MemoryScope& s) const;

 private:
  boost::asio::awaitable<Result<std::vector<Candidate>>> vector_candidates(
      std::int64_t space, const std::string& q, const std::string& context);
  boost::asio::awaitable<Result<std::vector<Candidate>>> keyword_candidates(std::int64_t space,
                                                                            const std::string& q);
  boost::asio::awaitable<Result<std::vector<Candidate>>> load(
      std::vector<std::pair<store::Id, double>> scored);
  void removed(const std::vector<store::RemovedMemory>& gone);
  void dropped(const std::vector<std::int64_t>& spaces);
  void changed(std::int64_t space) {
    if (space_changed_) space_changed_(space);
  }
  void note_breaker();
  void log_slow(std::int64_t space, double ms);
  // Retrieval times of prompt memories are noted here and stored with the next turn's write
  // (or on their own once kMaxPendingTouches wait); nothing ranks by them.
  void note_touched(const std::vector<store::Id>& ids, std::int64_t now_ms);
  std::vector<store::Id> take_touched(std::int64_t& at_ms);

  MemoryServiceParts p_;
  Ranker ranker_;
  ResultCache cache_;
  CircuitBreaker breaker_;
  SpaceChanged space_changed_;
  std::atomic<std::int64_t> last_slow_log_ms_{0};
  std::mutex touch_mu_;
  std::vector<store::Id> touched_;  // touch_mu_
  std::int64_t touched_at_ = 0;     // touch_mu_
  struct Instruments {
    Histogram* latency[3] = {};  // vector, keyword, off
    Counter* cache_hits = nullptr;
    Counter* cache_misses = nullptr;
    Counter* fallbacks = nullptr;
    Gauge* breaker = nullptr;
  } m_;
};

}  // namespace troupe::memory
