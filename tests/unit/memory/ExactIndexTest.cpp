#include <gtest/gtest.h>

#include "KernelTestData.h"
#include "memory/index/ExactIndex.h"
#include "memory/index/IndexFactory.h"

namespace troupe::memory {
namespace {

std::shared_ptr<const VectorSet> make_set(std::size_t n, std::size_t d, std::uint32_t seed) {
  return std::make_shared<const VectorSet>(static_cast<int>(d), testdata::iota_ids(n),
                                           testdata::random_unit(n, d, seed));
}

TEST(ExactIndexTest, MatchesNaiveReferenceSingleAndBatched) {
  for (std::size_t d : {1u, 3u, 17u, 100u, 768u}) {
    const std::size_t n = 2500;  // more than one sgemm block
    auto rows = testdata::random_unit(n, d, static_cast<std::uint32_t>(d));
    auto ids = testdata::iota_ids(n);
    ExactIndex idx(std::make_shared<const VectorSet>(static_cast<int>(d), ids, rows));
    auto qs = testdata::random_unit(6, d, 99);
    std::vector<std::vector<Hit>> batched, single;
    idx.search(qs, 6, 10, batched);
    ASSERT_EQ(batched.size(), 6u);
    for (std::size_t q = 0; q < 6; ++q) {
      idx.search(std::span<const float>(qs.data() + q * d, d), 1, 10, single);
      auto truth = testdata::naive_topk(rows, ids, qs.data() + q * d, d, 10);
      ASSERT_EQ(batched[q].size(), truth.size());
      for (std::size_t i = 0; i < truth.size(); ++i) {
        EXPECT_NEAR(batched[q][i].score, truth[i].score, 1e-4) << d;
        EXPECT_NEAR(single[0][i].score, truth[i].score, 1e-4) << d;
        if (i > 0) {
          EXPECT_GE(batched[q][i - 1].score, batched[q][i].score);
        }
      }
      EXPECT_GE(testdata::recall(batched[q], truth), d == 1 ? 0.0 : 0.9);  // d=1 has ties
    }
  }
}

TEST(ExactIndexTest, EmptyOneElementAndKLargerThanSize) {
  ExactIndex empty(make_set(0, 17, 1));
  std::vector<std::vector<Hit>> out;
  std::vector<float> q(17, 0.1f);
  empty.search(q, 1, 5, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].empty());

  auto one = make_set(1, 17, 2);
  ExactIndex single(one);
  single.search(q, 1, 5, out);
  ASSERT_EQ(out[0].size(), 1u);
  EXPECT_EQ(out[0][0].id, 1000u);
  single.search(q, 1, 0, out);
  EXPECT_TRUE(out[0].empty());

  std::vector<VectorId> ids;
  std::vector<float> rows;
  single.export_vectors(ids, rows);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(rows.size(), 17u);
}

TEST(ExactIndexTest, FactoryChoosesKindBySizeAndOverride) {
  EXPECT_EQ(IndexFactory::choose(10, 100, 1000, ""), IndexKind::exact);
  EXPECT_EQ(IndexFactory::choose(100, 100, 1000, ""), IndexKind::exact_int8);
  EXPECT_EQ(IndexFactory::choose(5000, 100, 1000, ""), IndexKind::hnsw);
  EXPECT_EQ(IndexFactory::choose(5000, 100, 1000, "ivf"), IndexKind::ivf);
  EXPECT_EQ(IndexFactory::choose(5, 100, 1000, "exact-int8"), IndexKind::exact_int8);
  EXPECT_EQ(IndexFactory::choose(5, 100, 1000, "ivf-int8"), IndexKind::ivf_int8);
  EXPECT_EQ(parse_index_kind("nope"), std::nullopt);
  for (auto k : {IndexKind::exact, IndexKind::exact_int8, IndexKind::hnsw, IndexKind::ivf,
                 IndexKind::ivf_int8}) {
    auto idx = IndexFactory::build(k, make_set(50, 3, 5), IndexParams{});
    ASSERT_TRUE(idx.ok());
    EXPECT_EQ((*idx)->kind(), k);
    EXPECT_EQ((*idx)->size(), 50u);
    EXPECT_GT((*idx)->memory_bytes(), 0u);
  }
}

}  // namespace
}  // namespace troupe::memory
