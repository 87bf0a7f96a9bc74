// IndexFactory: builds the VectorIndex of a given kind from a VectorSet, and picks the kind for a
// space size from thresholds (exact below int8_threshold, exact-int8 below hnsw_threshold, else
// HNSW) unless overridden. Also names/parses kinds.
// Thread-safety: stateless; call from any thread (building is CPU-heavy: compute-pool threads).
#pragma once

#include <memory>
#include <string_view>

#include "core/Result.h"
#include "memory/index/VectorIndex.h"
#include "memory/index/VectorSet.h"

namespace troupe::memory {

class IndexFactory {
 public:
  static Result<std::shared_ptr<const VectorIndex>> build(IndexKind kind,
                                                          std::shared_ptr<const VectorSet> data,
                                                          const IndexParams& p);
  static IndexKind choose(std::size_t n, std::size_t int8_threshold, std::size_t hnsw_threshold,
                          std::string_view override_kind);
};

}  // namespace troupe::memory
