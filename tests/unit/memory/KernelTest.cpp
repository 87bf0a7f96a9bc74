#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "KernelTestData.h"
#include "memory/index/Kernels.h"
#include "memory/index/TopK.h"

namespace troupe::memory {
namespace {

using namespace kernels;

double ref_dot(const float* a, const float* b, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
  return s;
}

TEST(KernelTest, FloatDotAndL2MatchReferenceOnOddDims) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-3, 3);
  for (std::size_t d : {0u, 1u, 3u, 7u, 8u, 17u, 31u, 33u, 100u, 768u, 1023u}) {
    std::vector<float> a(d), b(d);
    for (auto& x : a) x = u(rng);
    for (auto& x : b) x = u(rng);
    const double r = ref_dot(a.data(), b.data(), d);
    EXPECT_NEAR(dot_f32(a.data(), b.data(), d), r, 1e-4 * (1 + std::fabs(r)) + 1e-3) << d;
    EXPECT_NEAR(dot_f32_scalar(a.data(), b.data(), d), r, 1e-3 + 1e-4 * std::fabs(r)) << d;
    double l2 = 0;
    for (std::size_t i = 0; i < d; ++i) l2 += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    EXPECT_NEAR(l2sq_f32(a.data(), b.data(), d), l2, 1e-3 + 1e-4 * l2) << d;
  }
}

TEST(KernelTest, EveryFloatDotVariantMatchesReference) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-2, 2);
  const auto variants = dot_f32_variants();
  ASSERT_GE(variants.size(), 1u);
  for (std::size_t d : {0u, 1u, 3u, 15u, 16u, 17u, 31u, 32u, 33u, 100u, 768u}) {
    std::vector<float> a(d), b(d);
    for (auto& x : a) x = u(rng);
    for (auto& x : b) x = u(rng);
    const double r = ref_dot(a.data(), b.data(), d);
    for (auto f : variants) EXPECT_NEAR(f(a.data(), b.data(), d), r, 1e-3 + 1e-4 * std::fabs(r)) << d;
  }
  EXPECT_EQ(best_dot_f32(), variants.back());
}

TEST(KernelTest, FloatDotAdversarialValues) {
  std::vector<float> z(17, 0.0f), big(17, 1e20f), one(17, 1.0f);
  EXPECT_EQ(dot_f32(z.data(), one.data(), 17), 0.0f);
  EXPECT_TRUE(std::isinf(dot_f32(big.data(), big.data(), 17)));  // overflows like the reference
  EXPECT_FLOAT_EQ(dot_f32(big.data(), z.data(), 17), 0.0f);
  std::vector<float> alt(768);
  for (std::size_t i = 0; i < alt.size(); ++i) alt[i] = (i % 2 ? -1e6f : 1e6f);
  EXPECT_NEAR(dot_f32(alt.data(), one.data(), 17), 1e6f, 1.0f);
  EXPECT_NEAR(dot_f32(alt.data(), alt.data(), 768), 768e12, 768e12 * 1e-5);
}

TEST(KernelTest, Int8DotMatchesReferenceIncludingExtremes) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> u(-127, 127);
  for (std::size_t d : {1u, 3u, 17u, 32u, 100u, 768u, 1000u}) {
    std::vector<std::int8_t> a(d), b(d);
    for (auto& x : a) x = static_cast<std::int8_t>(u(rng));
    for (auto& x : b) x = static_cast<std::int8_t>(u(rng));
    EXPECT_EQ(dot_i8(a.data(), b.data(), d), dot_i8_scalar(a.data(), b.data(), d)) << d;
    std::vector<std::int8_t> hi(d, 127), lo(d, -127);
    EXPECT_EQ(dot_i8(hi.data(), lo.data(), d), -127 * 127 * static_cast<int>(d));
    EXPECT_EQ(dot_i8(lo.data(), lo.data(), d), 127 * 127 * static_cast<int>(d));
  }
}

TEST(KernelTest, QuantizeErrorIsBounded) {
  for (std::size_t d : {1u, 3u, 17u, 100u, 768u}) {
    auto a = testdata::random_unit(2, d, static_cast<std::uint32_t>(d));
    std::vector<std::int8_t> ca(d), cb(d);
    const float sa = quantize_i8(a.data(), d, ca.data());
    const float sb = quantize_i8(a.data() + d, d, cb.data());
    for (std::size_t i = 0; i < d; ++i) EXPECT_LE(std::fabs(ca[i] * sa - a[i]), sa * 0.5f + 1e-6f);
    const float approx = static_cast<float>(dot_i8(ca.data(), cb.data(), d)) * sa * sb;
    const double exact = ref_dot(a.data(), a.data() + d, d);
    // |error| <= sum |a_i| eb + |b_i| ea + ea eb <= sqrt(d) (sa + sb) / 2 + d sa sb / 4
    const double bound = std::sqrt(double(d)) * (sa + sb) / 2 + d * sa * sb / 4;
    EXPECT_LE(std::fabs(approx - exact), bound) << d;
  }
  std::vector<float> zeros(9, 0.0f);
  std::vector<std::int8_t> c(9, 5);
  EXPECT_EQ(quantize_i8(zeros.data(), 9, c.data()), 0.0f);
  for (auto v : c) EXPECT_EQ(v, 0);
}

TEST(KernelTest, BatchMatchesSingleQueryScores) {
  const std::size_t d = 100, n = 37, nq = 5;
  auto rows = testdata::random_unit(n, d, 1);
  auto qs = testdata::random_unit(nq, d, 2);
  std::vector<float> s(nq * n), s1(n);
  batch_ip(qs.data(), nq, rows.data(), n, d, s.data());
  for (std::size_t q = 0; q < nq; ++q) {
    batch_ip(qs.data() + q * d, 1, rows.data(), n, d, s1.data());
    for (std::size_t j = 0; j < n; ++j) {
      EXPECT_NEAR(s[q * n + j], ref_dot(qs.data() + q * d, rows.data() + j * d, d), 1e-5);
      EXPECT_NEAR(s1[j], s[q * n + j], 1e-5);
    }
  }
  EXPECT_FALSE(std::string(simd_level()).empty());
  EXPECT_NE(configure_openblas().find("core="), std::string::npos);
}

TEST(KernelTest, TopKKeepsBestInOrderAndIgnoresNaN) {
  TopK t(3);
  EXPECT_EQ(t.threshold(), -std::numeric_limits<float>::infinity());
  const float scores[] = {0.1f, 0.9f, -1.f, std::nanf(""), 0.5f, 0.9f, 0.2f};
  for (VectorId i = 0; i < 7; ++i) t.push(i, scores[i]);
  auto out = t.take_sorted();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].id, 1u);  // tie at 0.9: smaller id first
  EXPECT_EQ(out[1].id, 5u);
  EXPECT_EQ(out[2].id, 4u);
  TopK none(0);
  none.push(1, 1.f);
  EXPECT_TRUE(none.take_sorted().empty());
}

}  // namespace
}  // namespace troupe::memory
