#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "memory/embed/TvecFile.h"
#include "memory/embed/TvecFormat.h"
#include "memory/embed/TvecWriter.h"

namespace troupe::memory {
namespace {

TEST(Sif, WeightFallsWithFrequency) {
  const std::uint32_t v = 400000;
  float prev = 0;
  for (std::uint32_t rank : {1u, 10u, 100u, 1000u, 10000u, 100000u}) {
    float w = sif_weight(rank, v, 1e-3f);
    EXPECT_GT(w, prev) << rank;
    EXPECT_GT(w, 0.0f);
    EXPECT_LT(w, 1.0f);
    prev = w;
  }
  // "the" (rank 1) is heavily discounted; a rank-10,000 word almost keeps full weight.
  EXPECT_LT(sif_weight(1, v, 1e-3f), 0.02f);
  EXPECT_GT(sif_weight(10000, v, 1e-3f), 0.99f);
  // a/(a+p) with p = 1/(r*H): rank 100, H = ln(V) + gamma + 1/(2V).
  double h = std::log(400000.0) + 0.5772156649 + 1.0 / 800000.0;
  EXPECT_NEAR(sif_weight(100, v, 1e-3f), 1e-3 / (1e-3 + 1.0 / (100 * h)), 1e-6);
}

TEST(Sif, ChecksumSeesEveryByte) {
  std::vector<unsigned char> data(1001);
  std::mt19937 rng(1);
  for (auto& b : data) b = static_cast<unsigned char>(rng());
  const auto base = tvec_checksum(data.data(), data.size());
  for (std::size_t i = 0; i < data.size(); i += 37) {
    data[i] ^= 0x10;
    EXPECT_NE(tvec_checksum(data.data(), data.size()), base) << i;
    data[i] ^= 0x10;
  }
  EXPECT_NE(tvec_checksum(data.data(), data.size() - 1), base);
}

TEST(Sif, WriterFindsThePlantedCommonDirection) {
  const int dims = 8;
  TvecWriterOptions o;
  o.dims = dims;
  o.reference_sentences = 3000;
  TvecWriter w(o);
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0, 0.3f);
  // Every word = 3 * c + noise, with c = unit vector along (1,1,0,...)/sqrt(2).
  const float c = 3.0f / std::sqrt(2.0f);
  for (int i = 0; i < 300; ++i) {
    std::vector<float> v(dims);
    for (auto& x : v) x = n(rng);
    v[0] += c;
    v[1] += c;
    ASSERT_TRUE(w.add("w" + std::to_string(i), static_cast<std::uint32_t>(i + 1), v).ok());
  }
  auto path = (std::filesystem::temp_directory_path() / "troupe_sif_pc.tvec").string();
  ASSERT_TRUE(w.write(path).ok());
  const auto& pc = w.principal_component();
  ASSERT_EQ(pc.size(), std::size_t(dims));
  double along = (pc[0] + pc[1]) / std::sqrt(2.0);
  EXPECT_GT(std::fabs(along), 0.95);
  auto f = TvecFile::open(path);
  ASSERT_TRUE(f.ok()) << f.error().message;
  for (int d = 0; d < dims; ++d) EXPECT_FLOAT_EQ((*f)->principal_component()[d], pc[d]);
  const TvecEntry* e = (*f)->find("w41");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->rank, 42u);
  EXPECT_EQ((*f)->find("w300"), nullptr);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace troupe::memory
