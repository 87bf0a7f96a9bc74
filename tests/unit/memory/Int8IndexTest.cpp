#include <gtest/gtest.h>

#include "KernelTestData.h"
#include "memory/index/Int8Index.h"

namespace troupe::memory {
namespace {

TEST(Int8IndexTest, RecallOnClusteredDataAndExactRerankScores) {
  const std::size_t n = 4000, d = 100, nq = 50;
  auto rows = testdata::clustered(n, d, 40, 0.6f, 11);
  auto ids = testdata::iota_ids(n);
  Int8Index idx(std::make_shared<const VectorSet>(int(d), ids, rows), 8);
  auto qs = testdata::clustered(nq, d, 40, 0.6f, 12);
  std::vector<std::vector<Hit>> out;
  idx.search(qs, nq, 10, out);
  double rec = 0;
  for (std::size_t q = 0; q < nq; ++q) {
    auto truth = testdata::naive_topk(rows, ids, qs.data() + q * d, d, 10);
    rec += testdata::recall(out[q], truth);
    ASSERT_FALSE(out[q].empty());
    EXPECT_NEAR(out[q][0].score, truth[0].score, 1e-4);  // re-ranked with float32
  }
  EXPECT_GE(rec / nq, 0.95);
}

TEST(Int8IndexTest, OddDimsEmptyAndSingle) {
  for (std::size_t d : {1u, 3u, 17u, 768u}) {
    auto rows = testdata::random_unit(1, d, 3);
    Int8Index one(std::make_shared<const VectorSet>(int(d), testdata::iota_ids(1), rows), 4);
    std::vector<std::vector<Hit>> out;
    one.search(rows, 1, 3, out);
    ASSERT_EQ(out[0].size(), 1u);
    EXPECT_NEAR(out[0][0].score, 1.0f, 1e-4);
    Int8Index none(std::make_shared<const VectorSet>(int(d), std::vector<VectorId>{},
                                                     std::vector<float>{}), 4);
    none.search(rows, 1, 3, out);
    EXPECT_TRUE(out[0].empty());
  }
}

TEST(Int8IndexTest, UsesAboutOneByteAndAHalfPerDimension) {
  const std::size_t n = 1000, d = 768;
  auto rows = testdata::random_unit(n, d, 5);
  // Rows viewed (as from a mapped segment), so only codes and scales are held.
  auto holder = std::make_shared<std::vector<float>>(rows);
  auto ids = std::make_shared<std::vector<VectorId>>(testdata::iota_ids(n));
  auto owner = std::make_shared<std::pair<decltype(holder), decltype(ids)>>(holder, ids);
  Int8Index idx(std::make_shared<const VectorSet>(int(d), n, ids->data(), holder->data(), owner), 8);
  EXPECT_LE(idx.memory_bytes() / n, 1100u);
}

}  // namespace
}  // namespace troupe::memory
