#include "memory/index/Int8Batch.h"

// GCC 12's AVX-512 intrinsics seed their results with _mm512_undefined_*(), which -O2 reports
// as (maybe) uninitialised once inlined; the values are fully overwritten by the instruction.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "memory/index/Kernels.h"

namespace troupe::memory::kernels {
namespace {

// vpdpbusd multiplies unsigned by signed bytes: a query byte q is fed as q ^ 0x80 == q + 128
// (unsigned), so each sum is <q, c> + 128 * sum(c), corrected with the row sum. Four products
// of at most 255 * 127 per 32-bit lane never overflow for any realistic stride.
__attribute__((target("avx512f"), always_inline)) inline std::int32_t hsum_epi32(__m512i v) noexcept {
  const __m512i a = _mm512_add_epi32(v, _mm512_shuffle_i32x4(v, v, 0x4e));
  __m128i h = _mm_add_epi32(_mm512_castsi512_si128(a), _mm512_castsi512_si128(
                                                           _mm512_shuffle_i32x4(a, a, 0xb1)));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
  return _mm_cvtsi128_si32(h);
}

template <int Q, int R>
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) inline void vnni_tile(
    const std::int8_t* q, const std::int8_t* c, const std::int32_t* rs, std::size_t stride,
    std::int32_t* out, std::size_t ldo) noexcept {
  __m512i acc[Q][R];
#pragma GCC unroll 4
  for (int i = 0; i < Q; ++i)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_setzero_si512();
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  for (std::size_t x = 0; x < stride; x += 64) {
    __m512i cv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) cv[r] = _mm512_loadu_si512(c + r * stride + x);
#pragma GCC unroll 4
    for (int i = 0; i < Q; ++i) {
      const __m512i qv = _mm512_xor_si512(_mm512_loadu_si512(q + i * stride + x), bias);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[i][r] = _mm512_dpbusd_epi32(acc[i][r], qv, cv[r]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < Q; ++i)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
      out[i * ldo + r] = hsum_epi32(acc[i][r]) - 128 * rs[r];
}

template <int Q>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void vnni_rows(
    const std::int8_t* q, const std::int8_t* codes, const std::int32_t* rs, std::size_t n,
    std::size_t stride, std::int32_t* out, std::size_t ldo) noexcept {
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) vnni_tile<Q, 4>(q, codes + j * stride, rs + j, stride, out + j, ldo);
  for (; j < n; ++j) vnni_tile<Q, 1>(q, codes + j * stride, rs + j, stride, out + j, ldo);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void batch_dot_i8_vnni(
    const std::int8_t* queries, std::size_t nq, const std::int8_t* codes,
    const std::int32_t* row_sums, std::size_t n, std::size_t stride, std::int32_t* out,
    std::size_t ldo) noexcept {
  std::size_t i = 0;
  for (; i + 4 <= nq; i += 4)
    vnni_rows<4>(queries + i * stride, codes, row_sums, n, stride, out + i * ldo, ldo);
  for (; i < nq; ++i)
    vnni_rows<1>(queries + i * stride, codes, row_sums, n, stride, out + i * ldo, ldo);
}

void batch_dot_i8_avx2(const std::int8_t* queries, std::size_t nq, const std::int8_t* codes,
                       const std::int32_t*, std::size_t n, std::size_t stride, std::int32_t* out,
                       std::size_t ldo) noexcept {
  for (std::size_t i = 0; i < nq; ++i)
    for (std::size_t j = 0; j < n; ++j)
      out[i * ldo + j] = dot_i8(queries + i * stride, codes + j * stride, stride);
}

// a . b = |a| . (b with a's sign): |a| is a valid unsigned byte because codes are >= -127.
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) inline std::int32_t
dot_i8_vnni_body(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept {
  __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
  const __m512i zero = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    const __m512i a0 = _mm512_loadu_si512(a + i), b0 = _mm512_loadu_si512(b + i);
    const __m512i a1 = _mm512_loadu_si512(a + i + 64), b1 = _mm512_loadu_si512(b + i + 64);
    acc0 = _mm512_dpbusd_epi32(acc0, _mm512_abs_epi8(a0),
                               _mm512_mask_sub_epi8(b0, _mm512_movepi8_mask(a0), zero, b0));
    acc1 = _mm512_dpbusd_epi32(acc1, _mm512_abs_epi8(a1),
                               _mm512_mask_sub_epi8(b1, _mm512_movepi8_mask(a1), zero, b1));
  }
  for (; i < n; i += 64) {
    const __mmask64 m = n - i >= 64 ? ~__mmask64{0} : ((__mmask64{1} << (n - i)) - 1);
    const __m512i a0 = _mm512_maskz_loadu_epi8(m, a + i), b0 = _mm512_maskz_loadu_epi8(m, b + i);
    acc0 = _mm512_dpbusd_epi32(acc0, _mm512_abs_epi8(a0),
                               _mm512_mask_sub_epi8(b0, _mm512_movepi8_mask(a0), zero, b0));
  }
  return hsum_epi32(_mm512_add_epi32(acc0, acc1));
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) std::int32_t dot_i8_vnni(
    const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept {
  return dot_i8_vnni_body(a, b, n);
}

float scale_of(const std::int8_t* elem, std::size_t stride) noexcept {
  float s;
  std::memcpy(&s, elem + stride, sizeof s);
  return s;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) float elem_distance_i8_vnni(
    const void* a, const void* b, const void* param) {
  const std::size_t stride = *static_cast<const std::size_t*>(param);
  const auto* ca = static_cast<const std::int8_t*>(a);
  const auto* cb = static_cast<const std::int8_t*>(b);
  return 1.0f - scale_of(ca, stride) * scale_of(cb, stride) *
                    static_cast<float>(dot_i8_vnni_body(ca, cb, stride));
}

float elem_distance_i8_generic(const void* a, const void* b, const void* param) {
  const std::size_t stride = *static_cast<const std::size_t*>(param);
  const auto* ca = static_cast<const std::int8_t*>(a);
  const auto* cb = static_cast<const std::int8_t*>(b);
  return 1.0f - scale_of(ca, stride) * scale_of(cb, stride) *
                    static_cast<float>(dot_i8(ca, cb, stride));
}

bool has_vnni() noexcept {
  static const bool v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vnni");
  return v;
}
bool has_avx2() noexcept {
  static const bool v = __builtin_cpu_supports("avx2");
  return v;
}

BatchDotI8Fn pick() noexcept {
  if (has_vnni()) return batch_dot_i8_vnni;
  if (has_avx2()) return batch_dot_i8_avx2;
  return batch_dot_i8_scalar;
}

}  // namespace

void batch_dot_i8_scalar(const std::int8_t* queries, std::size_t nq, const std::int8_t* codes,
                         const std::int32_t*, std::size_t n, std::size_t stride, std::int32_t* out,
                         std::size_t ldo) noexcept {
  for (std::size_t i = 0; i < nq; ++i)
    for (std::size_t j = 0; j < n; ++j)
      out[i * ldo + j] = dot_i8_scalar(queries + i * stride, codes + j * stride, stride);
}

void batch_dot_i8(const std::int8_t* queries, std::size_t nq, const std::int8_t* codes,
                  const std::int32_t* row_sums, std::size_t n, std::size_t stride,
                  std::int32_t* out, std::size_t ldo) noexcept {
  static const BatchDotI8Fn f = pick();
  f(queries, nq, codes, row_sums, n, stride, out, ldo);
}

std::vector<BatchDotI8Fn> batch_dot_i8_variants() {
  std::vector<BatchDotI8Fn> v{batch_dot_i8_scalar};
  if (has_avx2()) v.push_back(batch_dot_i8_avx2);
  if (has_vnni()) v.push_back(batch_dot_i8_vnni);
  return v;
}

const char* batch_dot_i8_level() noexcept {
  return has_vnni() ? "avx512vnni" : has_avx2() ? "avx2" : "scalar";
}

DotI8Fn best_dot_i8() noexcept {
  static const DotI8Fn f = has_vnni() ? dot_i8_vnni : dot_i8;
  return f;
}

ElemDistI8Fn best_elem_distance_i8() noexcept {
  return has_vnni() ? elem_distance_i8_vnni : elem_distance_i8_generic;
}

std::vector<ElemDistI8Fn> elem_distance_i8_variants() {
  std::vector<ElemDistI8Fn> v{elem_distance_i8_generic};
  if (has_vnni()) v.push_back(elem_distance_i8_vnni);
  return v;
}

std::vector<DotI8Fn> dot_i8_variants() {
  std::vector<DotI8Fn> v{dot_i8_scalar, dot_i8};
  if (has_vnni()) v.push_back(dot_i8_vnni);
  return v;
}

std::int32_t int8_row_sum(const std::int8_t* codes, std::size_t n) noexcept {
  std::int32_t s = 0;
  for (std::size_t i = 0; i < n; ++i) s += codes[i];
  return s;
}

}  // namespace troupe::memory::kernels
