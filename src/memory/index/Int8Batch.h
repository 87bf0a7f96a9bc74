// Int8Batch: the blocked kernel that scores a batch of int8 queries against a block of int8 code
// rows (one pass over the rows serves every query), with an AVX-512 VNNI variant (4 queries x 4
// rows register tiles, vpdpbusd), an AVX2 variant and the scalar reference, chosen at run time.
// Thread-safety: all functions are pure and may be called from any thread concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace troupe::memory::kernels {

// Rows and queries are `stride` bytes each, stride a multiple of kInt8Stride (zero padded), codes
// in [-127, 127]. row_sums[j] = sum of codes row j (see int8_row_sum). Writes
// out[i * ldo + j] = <queries row i, codes row j> for i < nq, j < n.
inline constexpr std::size_t kInt8Stride = 64;
using BatchDotI8Fn = void (*)(const std::int8_t* queries, std::size_t nq, const std::int8_t* codes,
                              const std::int32_t* row_sums, std::size_t n, std::size_t stride,
                              std::int32_t* out, std::size_t ldo) noexcept;

void batch_dot_i8(const std::int8_t* queries, std::size_t nq, const std::int8_t* codes,
                  const std::int32_t* row_sums, std::size_t n, std::size_t stride,
                  std::int32_t* out, std::size_t ldo) noexcept;
void batch_dot_i8_scalar(const std::int8_t* queries, std::size_t nq, const std::int8_t* codes,
                         const std::int32_t* row_sums, std::size_t n, std::size_t stride,
                         std::int32_t* out, std::size_t ldo) noexcept;
// Every variant this CPU can run, the scalar reference first (for tests).
std::vector<BatchDotI8Fn> batch_dot_i8_variants();
// "avx512vnni", "avx2" or "scalar".
const char* batch_dot_i8_level() noexcept;

std::int32_t int8_row_sum(const std::int8_t* codes, std::size_t n) noexcept;

// One int8 dot product (codes in [-127, 127], any n), for hot loops that call it through a
// pointer (HNSW over int8 codes): AVX-512 VNNI (masked tail) where available, else dot_i8().
using DotI8Fn = std::int32_t (*)(const std::int8_t*, const std::int8_t*, std::size_t) noexcept;
DotI8Fn best_dot_i8() noexcept;
std::vector<DotI8Fn> dot_i8_variants();  // scalar reference first

// HNSW-over-int8 distance 1 - sa * sb * <a, b> between two elements laid out as `stride` code
// bytes followed by their float scale; param points to the std::size_t stride. The VNNI variant
// has the dot product inlined (one indirect call per distance).
using ElemDistI8Fn = float (*)(const void* a, const void* b, const void* param);
ElemDistI8Fn best_elem_distance_i8() noexcept;
std::vector<ElemDistI8Fn> elem_distance_i8_variants();

}  // namespace troupe::memory::kernels
