// LocalVectorEngine: the in-process VectorEngine. Each space has a copy-on-write SpaceSnapshot
// (base index + delta + masks) swapped atomically, so upserts never block searches. search()
// posts to a bounded compute pool (max_queue; full → unavailable) where concurrent queries of a
// space are micro-batched (batch_window_us / batch_max) and scored in one pass (one sgemm for exact
// spaces), then resumes the awaiting coroutine on its own executor; deadlines → timeout;
// cancellation is safe (the pool only touches a shared request, never the coroutine's frame).
// Spaces load lazily from their mmap'd segment file, or through the SpaceLoader when the file is
// missing, corrupt or stale; a background compaction folds the delta into a new base. Only spaces
// of at least min_file_vectors get a segment file (small ones reload from the store). Resident
// spaces are bounded (resident_spaces) and chosen by LRU-K; the access history is saved in `dir`
// and start() warms the hottest spaces.
// Thread-safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/thread_pool.hpp>

#include "memory/VectorEngine.h"
#include "memory/engine/EngineOptions.h"
#include "memory/engine/LruK.h"
#include "memory/index/VectorIndex.h"

namespace troupe::memory {

class LocalVectorEngine final : public VectorEngine {
 public:
  static constexpr std::size_t kMaxK = 1000;
  static constexpr std::size_t kMaxUpsert = 100000;  // vectors per upsert call

  explicit LocalVectorEngine(EngineOptions opt);
  ~LocalVectorEngine() override;
  LocalVectorEngine(const LocalVectorEngine&) = delete;
  LocalVectorEngine& operator=(const LocalVectorEngine&) = delete;

  // Creates `dir`, reads the access history and starts warming the hottest spaces (in the
  // background, on the pool). Call once before serving.
  Status start();

  int dims() const override { return opt_.dims; }
  Status upsert(SpaceId space, std::span<const VectorId> ids, std::span<const float> vectors) override;
  Status remove(SpaceId space, std::span<const VectorId> ids) override;
  Status drop_space(SpaceId space) override;
  // Searches of a space whose index is still being loaded/built fail fast with `unavailable`.
  boost::asio::awaitable<Result<std::vector<Hit>>> search(
      SpaceId space, std::span<const float> query, std::size_t k,
      std::chrono::steady_clock::time_point deadline) override;
  SpaceInfo info(SpaceId space) const override;
  // Evicts resident spaces that are not hot (K-th last access older than 5 minutes) and saves the
  // access history.
  void trim() override;
  void shutdown() override;
  EngineStats stats() const;

  struct Space;
  struct Request;
  struct Counters;

 private:
  std::shared_ptr<Space> space(SpaceId id, bool create);
  void enqueue(const std::shared_ptr<Request>& req);
  void flush(const std::shared_ptr<Space>& sp);
  void run_batch(const std::shared_ptr<Space>& sp, std::vector<std::shared_ptr<Request>> batch);
  Status ensure_loaded(const std::shared_ptr<Space>& sp);
  IndexParams index_params() const;
  void after_write(const std::shared_ptr<Space>& sp);
  void compact(const std::shared_ptr<Space>& sp);
  void evict(const std::shared_ptr<Space>& sp);
  void enforce_resident_bound(SpaceId keep);
  void save_history();
  std::string segment_path(SpaceId id) const;

  EngineOptions opt_;
  boost::asio::thread_pool pool_;
  mutable std::mutex mu_;  // spaces_, lru_
  std::unordered_map<SpaceId, std::shared_ptr<Space>> spaces_;
  LruK lru_;
  std::atomic<bool> closing_{false};
  std::shared_ptr<Counters> c_;  // shared with in-flight requests
};

}  // namespace troupe::memory
