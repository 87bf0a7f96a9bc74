// ExactVectorEngine: a plain VectorEngine for small deployments and as the stand-in until the
// indexed engine is configured: each space is loaded from the store on first use (SpaceLoader),
// kept in memory and searched by an exact scan on the given compute pool. No segment files, no
// batching; the indexed LocalVectorEngine replaces it for large spaces.
// Thread-safety: every member may be called from any thread; one mutex per space, one for the map.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "memory/VectorEngine.h"

namespace troupe::memory {

class ExactVectorEngine final : public VectorEngine {
 public:
  ExactVectorEngine(int dims, SpaceLoader loader, boost::asio::thread_pool& pool)
      : dims_(dims), loader_(std::move(loader)), pool_(pool) {}

  int dims() const override { return dims_; }
  Status upsert(SpaceId space, std::span<const VectorId> ids, std::span<const float> vectors) override;
  Status remove(SpaceId space, std::span<const VectorId> ids) override;
  Status drop_space(SpaceId space) override;
  boost::asio::awaitable<Result<std::vector<Hit>>> search(
      SpaceId space, std::span<const float> query, std::size_t k,
      std::chrono::steady_clock::time_point deadline) override;
  SpaceInfo info(SpaceId space) const override;
  void trim() override;
  void shutdown() override;

 private:
  struct Space {
    std::mutex mu;
    bool loaded = false;
    std::vector<VectorId> ids;
    std::vector<float> vectors;
    std::unordered_map<VectorId, std::size_t> row;
  };
  std::shared_ptr<Space> find(SpaceId space, bool create);
  Status ensure_loaded(SpaceId id, Space& s);  // with s.mu held

  const int dims_;
  SpaceLoader loader_;
  boost::asio::thread_pool& pool_;
  mutable std::mutex mu_;
  std::unordered_map<SpaceId, std::shared_ptr<Space>> spaces_;
  bool closed_ = false;
};

}  // namespace troupe::memory
