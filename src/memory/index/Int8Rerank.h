// Int8Rerank: the two steps every index over int8 codes shares around its scan — keeping the best
// approximate scores of a block of code rows, then re-ranking those candidates by the exact float
// dot product. Int8Index (every row) and IvfInt8Index (the probed lists) differ only in which rows
// they scan and how a candidate maps back to its float row.
// Thread-safety: pure functions over the caller's data; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "memory/index/Kernels.h"
#include "memory/index/TopK.h"
#include "memory/index/VectorSet.h"

namespace troupe::memory {

// Offers rows [first_row, first_row + m) to `t` by approximate score: their int8 dot products with
// the query (`dots`) times each row's scale and the query's scale. The row position is the id.
inline void keep_approx(TopK& t, const std::int32_t* dots, const float* row_scales, float query_scale,
                        std::size_t first_row, std::size_t m) {
  const float* sc = row_scales + first_row;
  for (std::size_t j = 0; j < m; ++j) {
    const float approx = static_cast<float>(dots[j]) * sc[j] * query_scale;
    if (approx >= t.threshold()) t.push(first_row + j, approx);
  }
}

// The k best of `coarse`'s candidates by the float dot product with `query`, best first, with
// their vector ids. `row_of(candidate id)` gives the candidate's row in `data`. Each candidate is
// a scattered float row, so this is bandwidth-bound: keep the candidate count small.
template <class RowOf>
std::vector<Hit> rerank(TopK& coarse, const VectorSet& data, const float* query, std::size_t dims,
                        std::size_t k, RowOf row_of) {
  TopK fine(k);
  for (const Hit& c : coarse.take_sorted()) {
    const std::size_t r = row_of(c.id);
    fine.push(data.id(r), kernels::dot_f32(query, data.row(r), dims));
  }
  return fine.take_sorted();
}

}  // namespace troupe::memory
