// VectorEngine: the per-space vector indexes behind memory retrieval. One engine per process;
// each memory space (user x character, or one chat) has its own index, chosen by size (exact SIMD
// scan, int8 scan with float re-rank, HNSW, IVF-Flat), persisted as memory-mapped segment files
// that are derived data: a missing, stale or corrupt file is rebuilt through the SpaceLoader.
// Searches run on the engine's bounded compute pool, micro-batched, never on the caller's thread.
// Thread-safety: every member may be called from any thread; inserts never block searches.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/Result.h"

namespace troupe::memory {

using SpaceId = std::uint64_t;
using VectorId = std::uint64_t;  // the memory's id in the store

struct Hit {
  VectorId id = 0;
  float score = 0;  // cosine similarity (inner product of unit vectors), higher is better
};

// Everything the store holds for one space, to (re)build its index.
struct SpaceVectors {
  std::vector<VectorId> ids;
  std::vector<float> vectors;  // ids.size() * dims, row-major, unit length
};

// Reads a space from the source of truth; called on a compute-pool thread.
using SpaceLoader = std::function<Result<SpaceVectors>(SpaceId)>;

struct SpaceInfo {
  std::string index_kind;  // "exact", "exact-int8", "hnsw", "ivf"; "" when the space is unknown
  std::size_t size = 0;
  std::size_t memory_bytes = 0;
  bool resident = false;
};

class VectorEngine {
 public:
  virtual ~VectorEngine() = default;
  virtual int dims() const = 0;

  // Adds (or replaces, for a known id) vectors of one space. `vectors` holds ids.size() * dims
  // floats. Visible to searches that start after the call returns.
  virtual Status upsert(SpaceId space, std::span<const VectorId> ids,
                        std::span<const float> vectors) = 0;
  virtual Status remove(SpaceId space, std::span<const VectorId> ids) = 0;
  virtual Status drop_space(SpaceId space) = 0;

  // Top-k hits for one unit-length query, best first. Errors: timeout (deadline passed before the
  // search ran or finished), unavailable (queue full or engine closing), bad_request (dims).
  virtual boost::asio::awaitable<Result<std::vector<Hit>>> search(
      SpaceId space, std::span<const float> query, std::size_t k,
      std::chrono::steady_clock::time_point deadline) = 0;

  virtual SpaceInfo info(SpaceId space) const = 0;
  // Memory budget hook: drop resident indexes that are not hot (they reload on demand).
  virtual void trim() = 0;
  // Stops the compute pool; pending searches complete with `unavailable`.
  virtual void shutdown() = 0;
};

}  // namespace troupe::memory
