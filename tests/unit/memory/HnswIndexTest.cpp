#include <gtest/gtest.h>

#include "KernelTestData.h"
#include "memory/index/HnswIndex.h"
#include "memory/index/IvfIndex.h"

namespace troupe::memory {
namespace {

double mean_recall(const VectorIndex& idx, const std::vector<float>& rows,
                   const std::vector<VectorId>& ids, const std::vector<float>& qs, std::size_t d) {
  const std::size_t nq = qs.size() / d;
  std::vector<std::vector<Hit>> out;
  idx.search(qs, nq, 10, out);
  double r = 0;
  for (std::size_t q = 0; q < nq; ++q)
    r += testdata::recall(out[q], testdata::naive_topk(rows, ids, qs.data() + q * d, d, 10));
  return r / double(nq);
}

TEST(HnswIndexTest, RecallAtTenOnClusteredData) {
  const std::size_t n = 3000, d = 64;
  auto rows = testdata::clustered(n, d, 30, 0.5f, 21);
  auto ids = testdata::iota_ids(n);
  VectorSet set(int(d), ids, rows);
  IndexParams p;
  auto idx = HnswIndex::build(set, p);
  ASSERT_TRUE(idx.ok());
  auto qs = testdata::clustered(100, d, 30, 0.5f, 22);
  EXPECT_GE(mean_recall(**idx, rows, ids, qs, d), 0.95);
  std::vector<VectorId> eids;
  std::vector<float> erows;
  (*idx)->export_vectors(eids, erows);
  EXPECT_EQ(eids.size(), n);
  EXPECT_EQ(erows.size(), n * d);
  EXPECT_LE((*idx)->memory_bytes() / n, 3400u);
}

TEST(HnswIndexTest, EmptyAndSingleAndOddDims) {
  for (std::size_t d : {1u, 3u, 17u}) {
    VectorSet none(int(d), {}, {});
    auto e = HnswIndex::build(none, IndexParams{});
    ASSERT_TRUE(e.ok());
    std::vector<std::vector<Hit>> out;
    std::vector<float> q(d, 1.0f);
    (*e)->search(q, 1, 10, out);
    EXPECT_TRUE(out[0].empty());
    VectorSet one(int(d), {7}, std::vector<float>(d, 0.5f));
    auto s = HnswIndex::build(one, IndexParams{});
    ASSERT_TRUE(s.ok());
    (*s)->search(q, 1, 10, out);
    ASSERT_EQ(out[0].size(), 1u);
    EXPECT_EQ(out[0][0].id, 7u);
    EXPECT_NEAR(out[0][0].score, 0.5f * float(d), 1e-4);
  }
}

TEST(IvfIndexTest, RecallAtTenOnClusteredData) {
  const std::size_t n = 4000, d = 32;
  auto rows = testdata::clustered(n, d, 20, 0.5f, 31);
  auto ids = testdata::iota_ids(n);
  VectorSet set(int(d), ids, rows);
  IndexParams p;
  p.ivf_nlist = 32;
  p.ivf_nprobe = 8;
  auto idx = IvfIndex::build(set, p);
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ((*idx)->nlist(), 32);
  auto qs = testdata::clustered(100, d, 20, 0.5f, 32);
  EXPECT_GE(mean_recall(**idx, rows, ids, qs, d), 0.95);
  std::vector<VectorId> eids;
  std::vector<float> erows;
  (*idx)->export_vectors(eids, erows);
  EXPECT_EQ(eids.size(), n);
}

TEST(IvfIndexTest, TinySpacesUseOneListAndStillWork) {
  VectorSet none(3, {}, {});
  auto e = IvfIndex::build(none, IndexParams{});
  ASSERT_TRUE(e.ok());
  std::vector<std::vector<Hit>> out;
  std::vector<float> q{1, 0, 0};
  (*e)->search(q, 1, 4, out);
  EXPECT_TRUE(out[0].empty());
  VectorSet three(3, {1, 2, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  auto t = IvfIndex::build(three, IndexParams{});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->nlist(), 1);
  (*t)->search(q, 1, 4, out);
  ASSERT_EQ(out[0].size(), 3u);
  EXPECT_EQ(out[0][0].id, 1u);
  EXPECT_NEAR(out[0][0].score, 1.0f, 1e-6);
}

}  // namespace
}  // namespace troupe::memory
