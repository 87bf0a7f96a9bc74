// IvfIndex: FAISS IndexIVFFlat (inner product): k-means coarse lists (nlist, trained with a fixed
// seed) probed nprobe at a time. Trained and filled in memory from the vectors; segment files
// persist vectors only, so the lists are rebuilt when a space loads.
// Thread-safety: immutable after build(); search() from any number of threads.
#pragma once

#include <memory>

#include "core/Result.h"
#include "memory/index/VectorIndex.h"
#include "memory/index/VectorSet.h"

namespace troupe::memory {

class IvfIndex final : public VectorIndex {
 public:
  static Result<std::unique_ptr<IvfIndex>> build(const VectorSet& data, const IndexParams& p);
  ~IvfIndex() override;

  IndexKind kind() const noexcept override { return IndexKind::ivf; }
  int dims() const noexcept override { return dims_; }
  std::size_t size() const noexcept override { return n_; }
  std::size_t memory_bytes() const noexcept override;
  void search(std::span<const float> queries, std::size_t nq, std::size_t k,
              std::vector<std::vector<Hit>>& out) const override;
  void search_with(std::span<const float> queries, std::size_t nq, std::size_t k,
                   const SearchParams& sp,
              std::vector<std::vector<Hit>>& out) const override;
  void export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const override;
  int nlist() const noexcept;

 private:
  struct Impl;
  IvfIndex(std::unique_ptr<Impl> impl, int dims, std::size_t n);
  std::unique_ptr<Impl> impl_;
  int dims_;
  std::size_t n_;
};

}  // namespace troupe::memory
