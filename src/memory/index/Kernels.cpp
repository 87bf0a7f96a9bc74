#include "memory/index/Kernels.h"

#include <cblas.h>
// GCC 12's AVX-512 intrinsics seed their results with _mm512_undefined_*(), which -O2 reports
// as (maybe) uninitialised once inlined; the values are fully overwritten by the instruction.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace troupe::memory::kernels {
namespace {
DotF32Fn pick_dot() noexcept;

__attribute__((target("avx2,fma"))) float dot_f32_avx2(const float* a, const float* b,
                                                        std::size_t n) noexcept {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  float r = _mm_cvtss_f32(h);
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

__attribute__((target("avx2,fma"))) float l2sq_f32_avx2(const float* a, const float* b,
                                                         std::size_t n) noexcept {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
    s1 = _mm256_fmadd_ps(d1, d1, s1);
  }
  for (; i + 8 <= n; i += 8) {
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    s0 = _mm256_fmadd_ps(d, d, s0);
  }
  __m256 s = _mm256_add_ps(s0, s1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  float r = _mm_cvtss_f32(h);
  for (; i < n; ++i) r += (a[i] - b[i]) * (a[i] - b[i]);
  return r;
}

// Codes are in [-127, 127], so |a| * b pairs summed by maddubs stay below 2 * 127 * 127 and
// never saturate.
__attribute__((target("avx2"))) std::int32_t dot_i8_avx2(const std::int8_t* a,
                                                         const std::int8_t* b,
                                                         std::size_t n) noexcept {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    __m256i p16 = _mm256_maddubs_epi16(_mm256_abs_epi8(va), _mm256_sign_epi8(vb, va));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p16, ones));
  }
  __m128i h = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
  std::int32_t r = _mm_cvtsi128_si32(h);
  for (; i < n; ++i) r += std::int32_t{a[i]} * std::int32_t{b[i]};
  return r;
}

__attribute__((target("avx512f"))) float dot_f32_avx512(const float* a, const float* b,
                                                        std::size_t n) noexcept {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i + 16 <= n; i += 16)
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  if (i < n) {  // masked tail: odd dimensions never read past the rows
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

bool has_avx2_fma() noexcept {
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return v;
}

DotF32Fn pick_dot() noexcept {
  if (__builtin_cpu_supports("avx512f")) return dot_f32_avx512;
  if (has_avx2_fma()) return dot_f32_avx2;
  return dot_f32_scalar;
}

}  // namespace

float dot_f32_scalar(const float* a, const float* b, std::size_t n) noexcept {
  float r = 0;
  for (std::size_t i = 0; i < n; ++i) r += a[i] * b[i];
  return r;
}
float l2sq_f32_scalar(const float* a, const float* b, std::size_t n) noexcept {
  float r = 0;
  for (std::size_t i = 0; i < n; ++i) r += (a[i] - b[i]) * (a[i] - b[i]);
  return r;
}
std::int32_t dot_i8_scalar(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept {
  std::int32_t r = 0;
  for (std::size_t i = 0; i < n; ++i) r += std::int32_t{a[i]} * std::int32_t{b[i]};
  return r;
}

DotF32Fn best_dot_f32() noexcept {
  static const DotF32Fn f = pick_dot();
  return f;
}

float dot_f32(const float* a, const float* b, std::size_t n) noexcept {
  return best_dot_f32()(a, b, n);
}

std::vector<DotF32Fn> dot_f32_variants() {
  std::vector<DotF32Fn> v{dot_f32_scalar};
  if (has_avx2_fma()) v.push_back(dot_f32_avx2);
  if (__builtin_cpu_supports("avx512f")) v.push_back(dot_f32_avx512);
  return v;
}
float l2sq_f32(const float* a, const float* b, std::size_t n) noexcept {
  return has_avx2_fma() ? l2sq_f32_avx2(a, b, n) : l2sq_f32_scalar(a, b, n);
}
std::int32_t dot_i8(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept {
  return has_avx2_fma() ? dot_i8_avx2(a, b, n) : dot_i8_scalar(a, b, n);
}

float quantize_i8(const float* x, std::size_t n, std::int8_t* codes) noexcept {
  float m = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(x[i])) m = std::max(m, std::fabs(x[i]));
  if (m == 0) {
    std::fill(codes, codes + n, std::int8_t{0});
    return 0;
  }
  const float scale = m / 127.0f, inv = 127.0f / m;
  for (std::size_t i = 0; i < n; ++i) {
    float v = std::isfinite(x[i]) ? std::nearbyint(x[i] * inv) : 0.0f;
    codes[i] = static_cast<std::int8_t>(std::clamp(v, -127.0f, 127.0f));
  }
  return scale;
}

void batch_ip(const float* queries, std::size_t nq, const float* rows, std::size_t n,
              std::size_t dims, float* scores) noexcept {
  if (nq == 0 || n == 0) return;
  if (nq == 1 || dims == 0) {
    for (std::size_t q = 0; q < nq; ++q)
      for (std::size_t j = 0; j < n; ++j)
        scores[q * n + j] = dot_f32(queries + q * dims, rows + j * dims, dims);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(nq), static_cast<int>(n),
              static_cast<int>(dims), 1.0f, queries, static_cast<int>(dims), rows,
              static_cast<int>(dims), 0.0f, scores, static_cast<int>(n));
}

const char* simd_level() noexcept {
  if (best_dot_f32() == dot_f32_avx512) return "avx512f (dot), avx2+fma";
  return has_avx2_fma() ? "avx2+fma" : "scalar";
}

std::string configure_openblas() {
  openblas_set_num_threads(1);
  const char* core = openblas_get_corename();
  return std::string("core=") + (core ? core : "unknown") + " threads=1";
}

}  // namespace troupe::memory::kernels
