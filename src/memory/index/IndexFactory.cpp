#include "memory/index/IndexFactory.h"

#include "memory/index/ExactIndex.h"
#include "memory/index/HnswIndex.h"
#include "memory/index/Int8Index.h"
#include "memory/index/IvfIndex.h"
#include "memory/index/IvfInt8Index.h"

namespace troupe::memory {

std::string_view index_kind_name(IndexKind k) noexcept {
  switch (k) {
    case IndexKind::exact: return "exact";
    case IndexKind::exact_int8: return "exact-int8";
    case IndexKind::hnsw: return "hnsw";
    case IndexKind::ivf: return "ivf";
    case IndexKind::ivf_int8: return "ivf-int8";
  }
  return "";
}

std::optional<IndexKind> parse_index_kind(std::string_view s) noexcept {
  for (auto k : {IndexKind::exact, IndexKind::exact_int8, IndexKind::hnsw, IndexKind::ivf,
                 IndexKind::ivf_int8})
    if (index_kind_name(k) == s) return k;
  return std::nullopt;
}

Result<std::shared_ptr<const VectorIndex>> IndexFactory::build(
    IndexKind kind, std::shared_ptr<const VectorSet> data, const IndexParams& p) {
  switch (kind) {
    case IndexKind::exact:
      return std::shared_ptr<const VectorIndex>(std::make_shared<ExactIndex>(std::move(data)));
    case IndexKind::exact_int8:
      return std::shared_ptr<const VectorIndex>(
          std::make_shared<Int8Index>(std::move(data), p.int8_rerank));
    case IndexKind::hnsw: {
      auto r = HnswIndex::build(std::move(data), p);
      if (!r) return r.error();
      return std::shared_ptr<const VectorIndex>(std::move(*r));
    }
    case IndexKind::ivf: {
      auto r = IvfIndex::build(*data, p);
      if (!r) return r.error();
      return std::shared_ptr<const VectorIndex>(std::move(*r));
    }
    case IndexKind::ivf_int8: {
      auto r = IvfInt8Index::build(std::move(data), p);
      if (!r) return r.error();
      return std::shared_ptr<const VectorIndex>(std::move(*r));
    }
  }
  return make_error(Errc::internal, "unknown index kind");
}

IndexKind IndexFactory::choose(std::size_t n, std::size_t int8_threshold,
                               std::size_t hnsw_threshold, std::string_view override_kind) {
  if (auto k = parse_index_kind(override_kind)) return *k;
  if (n >= hnsw_threshold) return IndexKind::hnsw;
  if (n >= int8_threshold) return IndexKind::exact_int8;
  return IndexKind::exact;
}

}  // namespace troupe::memory
