#include "memory/embed/HashEmbedder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace troupe::memory {
namespace {

float dot(const float* a, const float* b, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

TEST(HashEmbedder, DeterministicUnitRowsAndZeroForEmpty) {
  HashEmbedder e(64);
  EXPECT_EQ(e.info().dims, 64);
  EXPECT_EQ(e.info().name, "hash-64");
  std::vector<std::string_view> texts{"The cat sat on the mat", "", "the CAT sat on the mat!"};
  std::vector<float> out(texts.size() * 64, 7.0f);
  ASSERT_TRUE(e.embed(texts, out).ok());
  EXPECT_NEAR(dot(&out[0], &out[0], 64), 1.0f, 1e-5);
  EXPECT_EQ(dot(&out[64], &out[64], 64), 0.0f);
  for (int d = 0; d < 64; ++d) EXPECT_FLOAT_EQ(out[d], out[128 + d]);  // case and punctuation
}

TEST(HashEmbedder, SharedWordsScoreHigherThanDisjointOnes) {
  HashEmbedder e(256);
  std::vector<std::string_view> texts{"my sister lives in paris", "my sister moved to paris",
                                      "quantum chromodynamics lecture notes"};
  std::vector<float> out(3 * 256);
  ASSERT_TRUE(e.embed(texts, out).ok());
  EXPECT_GT(dot(&out[0], &out[256], 256), dot(&out[0], &out[512], 256) + 0.3f);
}

TEST(HashEmbedder, RejectsWrongOutputSize) {
  HashEmbedder e(8);
  std::vector<std::string_view> texts{"a"};
  std::vector<float> out(7);
  EXPECT_FALSE(e.embed(texts, out).ok());
}

}  // namespace
}  // namespace troupe::memory
