#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "memory/index/Int8Batch.h"

namespace troupe::memory {
namespace {

using namespace kernels;

std::int32_t naive_dot(const std::int8_t* a, const std::int8_t* b, std::size_t n) {
  std::int64_t s = 0;
  for (std::size_t i = 0; i < n; ++i) s += std::int64_t{a[i]} * b[i];
  return static_cast<std::int32_t>(s);
}

struct Codes {
  std::size_t stride;
  std::vector<std::int8_t> q, c;
  std::vector<std::int32_t> sums;
};

// dims significant bytes per row, zero padded to the stride.
Codes make_codes(std::size_t nq, std::size_t n, std::size_t dims, std::uint32_t seed, int mode) {
  Codes k;
  k.stride = (dims + kInt8Stride - 1) / kInt8Stride * kInt8Stride;
  k.q.assign(nq * k.stride, 0);
  k.c.assign(n * k.stride, 0);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(-127, 127);
  auto fill = [&](std::vector<std::int8_t>& v, std::size_t rows, int sign) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t i = 0; i < dims; ++i)
        v[r * k.stride + i] = static_cast<std::int8_t>(mode == 0 ? u(rng) : sign * 127);
  };
  fill(k.q, nq, mode == 2 ? -1 : 1);
  fill(k.c, n, mode == 1 ? -1 : 1);
  for (std::size_t j = 0; j < n; ++j) k.sums.push_back(int8_row_sum(k.c.data() + j * k.stride, k.stride));
  return k;
}

TEST(Int8BatchTest, EveryVariantMatchesNaiveReference) {
  const auto variants = batch_dot_i8_variants();
  ASSERT_GE(variants.size(), 1u);
  EXPECT_FALSE(std::string(batch_dot_i8_level()).empty());
  for (int mode : {0, 1, 2}) {  // random; +127 x -127; -127 x +127 (extremes, no overflow)
    for (std::size_t dims : {1u, 17u, 64u, 100u, 768u, 1000u}) {
      for (auto [nq, n] : {std::pair<std::size_t, std::size_t>{1, 1}, {1, 9}, {3, 5}, {4, 4},
                          {5, 7}, {9, 13}, {32, 37}}) {
        const auto k = make_codes(nq, n, dims, static_cast<std::uint32_t>(dims * 31 + nq + n), mode);
        const std::size_t ldo = n + 3;  // the output rows may be wider than n
        for (std::size_t v = 0; v < variants.size(); ++v) {
          std::vector<std::int32_t> out(nq * ldo, 12345);
          variants[v](k.q.data(), nq, k.c.data(), k.sums.data(), n, k.stride, out.data(), ldo);
          for (std::size_t i = 0; i < nq; ++i) {
            for (std::size_t j = 0; j < n; ++j)
              ASSERT_EQ(out[i * ldo + j],
                        naive_dot(k.q.data() + i * k.stride, k.c.data() + j * k.stride, dims))
                  << "variant " << v << " mode " << mode << " dims " << dims << " q " << i << " row " << j;
            for (std::size_t j = n; j < ldo; ++j) ASSERT_EQ(out[i * ldo + j], 12345) << v;
          }
        }
        std::vector<std::int32_t> out(nq * ldo);
        batch_dot_i8(k.q.data(), nq, k.c.data(), k.sums.data(), n, k.stride, out.data(), ldo);
        EXPECT_EQ(out[0], naive_dot(k.q.data(), k.c.data(), dims));
      }
    }
  }
}

TEST(Int8BatchTest, EveryPairDotVariantMatchesNaiveReference) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> u(-127, 127);
  for (std::size_t d : {0u, 1u, 17u, 63u, 64u, 65u, 100u, 128u, 200u, 768u, 1000u}) {
    std::vector<std::int8_t> a(d), b(d), hi(d, 127), lo(d, -127);
    for (auto& x : a) x = static_cast<std::int8_t>(u(rng));
    for (auto& x : b) x = static_cast<std::int8_t>(u(rng));
    for (auto f : dot_i8_variants()) {
      EXPECT_EQ(f(a.data(), b.data(), d), naive_dot(a.data(), b.data(), d)) << d;
      EXPECT_EQ(f(hi.data(), lo.data(), d), naive_dot(hi.data(), lo.data(), d)) << d;
      EXPECT_EQ(f(lo.data(), lo.data(), d), naive_dot(lo.data(), lo.data(), d)) << d;
      EXPECT_EQ(f(lo.data(), a.data(), d), naive_dot(lo.data(), a.data(), d)) << d;
    }
    EXPECT_EQ(best_dot_i8()(a.data(), b.data(), d), naive_dot(a.data(), b.data(), d));
  }
}

TEST(Int8BatchTest, EveryElementDistanceVariantMatchesReference) {
  for (std::size_t dims : {1u, 64u, 100u, 768u}) {
    const auto k = make_codes(2, 1, dims, static_cast<std::uint32_t>(dims), 0);
    std::vector<std::int8_t> a(k.stride + sizeof(float)), b(k.stride + sizeof(float));
    std::copy(k.q.begin(), k.q.begin() + long(k.stride), a.begin());
    std::copy(k.c.begin(), k.c.begin() + long(k.stride), b.begin());
    const float sa = 0.01f, sb = 0.003f;
    std::memcpy(a.data() + k.stride, &sa, sizeof sa);
    std::memcpy(b.data() + k.stride, &sb, sizeof sb);
    const double want = 1.0 - double(sa) * sb * naive_dot(a.data(), b.data(), dims);
    for (auto f : elem_distance_i8_variants())
      EXPECT_NEAR(f(a.data(), b.data(), &k.stride), want, 1e-5 * (1 + std::fabs(want))) << dims;
    EXPECT_NEAR(best_elem_distance_i8()(a.data(), b.data(), &k.stride), want,
                1e-5 * (1 + std::fabs(want)));
  }
}

TEST(Int8BatchTest, EmptyBatchesWriteNothing) {
  const auto k = make_codes(2, 3, 64, 5, 0);
  std::vector<std::int32_t> out(6, 7);
  for (auto f : batch_dot_i8_variants()) {
    f(k.q.data(), 0, k.c.data(), k.sums.data(), 3, k.stride, out.data(), 3);
    f(k.q.data(), 2, k.c.data(), k.sums.data(), 0, k.stride, out.data(), 3);
  }
  for (auto v : out) EXPECT_EQ(v, 7);
  EXPECT_EQ(int8_row_sum(k.c.data(), 0), 0);
}

}  // namespace
}  // namespace troupe::memory
