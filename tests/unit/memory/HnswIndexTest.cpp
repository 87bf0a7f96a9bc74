#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "KernelTestData.h"
#include "memory/index/HnswIndex.h"
#include "memory/index/IvfIndex.h"

namespace troupe::memory {
namespace {

double mean_recall(const VectorIndex& idx, const std::vector<float>& rows,
                   const std::vector<VectorId>& ids, const std::vector<float>& qs, std::size_t d,
                   const SearchParams* sp = nullptr) {
  const std::size_t nq = qs.size() / d;
  std::vector<std::vector<Hit>> out;
  if (sp)
    idx.search_with(qs, nq, 10, *sp, out);
  else
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

TEST(HnswIndexTest, ParallelBuildAndPerSearchEf) {
  const std::size_t n = 3000, d = 24;
  auto rows = testdata::clustered(n, d, 30, 0.6f, 41);
  auto ids = testdata::iota_ids(n);
  VectorSet set(int(d), ids, rows);
  IndexParams p;
  p.hnsw_m = 8;
  p.hnsw_ef_construction = 64;
  p.hnsw_ef_search = 1;  // the built-in default is poor; per-call ef must override it
  p.build_threads = 4;
  auto idx = HnswIndex::build(set, p);
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ((*idx)->size(), n);
  std::vector<VectorId> eids;
  std::vector<float> erows;
  (*idx)->export_vectors(eids, erows);
  std::sort(eids.begin(), eids.end());
  EXPECT_EQ(eids, ids);  // every row inserted exactly once by the concurrent build
  auto qs = testdata::clustered(100, d, 30, 0.6f, 42);
  SearchParams wide;
  wide.hnsw_ef = 200;
  const double r_wide = mean_recall(**idx, rows, ids, qs, d, &wide);
  EXPECT_GE(r_wide, 0.97);
  SearchParams narrow;
  narrow.hnsw_ef = 1;  // still returns k hits (ef is raised to k)
  const double r_narrow = mean_recall(**idx, rows, ids, qs, d, &narrow);
  EXPECT_GT(r_narrow, 0.3);
  EXPECT_LE(r_narrow, r_wide);
  std::vector<std::vector<Hit>> out;
  (*idx)->search_with(qs, 2, 10, narrow, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].size(), 10u);
  for (std::size_t i = 1; i < out[0].size(); ++i) EXPECT_GE(out[0][i - 1].score, out[0][i].score);
}

TEST(HnswIndexTest, Int8GraphReranksWithFloatScores) {
  for (std::size_t d : {24u, 100u}) {
    const std::size_t n = 2000;
    auto rows = testdata::clustered(n, d, 20, 0.6f, 61);
    auto ids = testdata::iota_ids(n);
    for (auto& id : ids) id += 1000;  // ids differ from row numbers
    auto set = std::make_shared<const VectorSet>(int(d), ids, rows);
    IndexParams p;
    p.hnsw_int8 = true;
    p.hnsw_ef_search = 64;
    p.build_threads = 2;
    auto idx = HnswIndex::build(set, p);
    ASSERT_TRUE(idx.ok());
    auto qs = testdata::clustered(60, d, 20, 0.6f, 62);
    p.hnsw_int8 = false;
    auto fidx = HnswIndex::build(set, p);  // the float32 graph on the same data, for comparison
    ASSERT_TRUE(fidx.ok());
    const double r_float = mean_recall(**fidx, rows, ids, qs, d);
    const double r_int8 = mean_recall(**idx, rows, ids, qs, d);
    EXPECT_GE(r_int8, 0.9) << d;
    EXPECT_GE(r_int8, r_float - 0.03) << d;
    std::vector<std::vector<Hit>> out;
    (*idx)->search(std::span<const float>(qs.data(), d), 1, 5, out);
    ASSERT_EQ(out[0].size(), 5u);
    auto truth = testdata::naive_topk(rows, ids, qs.data(), d, 1);
    EXPECT_EQ(out[0][0].id, truth[0].id);
    EXPECT_NEAR(out[0][0].score, truth[0].score, 1e-4);  // float32 re-rank, not the int8 score
    std::vector<VectorId> eids;
    std::vector<float> erows;
    (*idx)->export_vectors(eids, erows);
    EXPECT_EQ(eids, ids);
    EXPECT_EQ(erows, rows);
  }
  VectorSet one(3, {7}, {0, 1, 0});  // the by-reference build copies the rows it re-ranks with
  IndexParams p;
  p.hnsw_int8 = true;
  auto idx = HnswIndex::build(one, p);
  ASSERT_TRUE(idx.ok());
  std::vector<std::vector<Hit>> out;
  std::vector<float> q{0, 1, 0};
  (*idx)->search(q, 1, 3, out);
  ASSERT_EQ(out[0].size(), 1u);
  EXPECT_EQ(out[0][0].id, 7u);
  EXPECT_NEAR(out[0][0].score, 1.0f, 1e-6);
}

TEST(IvfIndexTest, PerSearchNprobe) {
  const std::size_t n = 4000, d = 32;
  auto rows = testdata::clustered(n, d, 40, 0.8f, 51);
  auto ids = testdata::iota_ids(n);
  VectorSet set(int(d), ids, rows);
  IndexParams p;
  p.ivf_nlist = 64;
  p.ivf_nprobe = 1;
  auto idx = IvfIndex::build(set, p);
  ASSERT_TRUE(idx.ok());
  auto qs = testdata::clustered(100, d, 40, 0.8f, 52);
  SearchParams all;
  all.ivf_nprobe = 1000;  // clamped to nlist: every list probed, an exact scan
  EXPECT_GE(mean_recall(**idx, rows, ids, qs, d, &all), 0.999);
  EXPECT_LE(mean_recall(**idx, rows, ids, qs, d), mean_recall(**idx, rows, ids, qs, d, &all));
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
