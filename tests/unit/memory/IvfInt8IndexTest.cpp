#include <gtest/gtest.h>

#include "KernelTestData.h"
#include "memory/index/IvfInt8Index.h"

namespace troupe::memory {
namespace {

std::unique_ptr<IvfInt8Index> build(const std::vector<float>& rows, std::size_t d,
                                    IndexParams p = {}) {
  auto set = std::make_shared<const VectorSet>(int(d), testdata::iota_ids(rows.size() / d), rows);
  auto r = IvfInt8Index::build(set, p);
  EXPECT_TRUE(r.ok());
  return r.ok() ? std::move(*r) : nullptr;
}

double mean_recall(const IvfInt8Index& idx, const std::vector<float>& rows, const std::vector<float>& qs,
                   std::size_t d, std::size_t nq, SearchParams sp) {
  std::vector<std::vector<Hit>> out;
  idx.search_with(qs, nq, 10, sp, out);
  const auto ids = testdata::iota_ids(rows.size() / d);
  double rec = 0;
  for (std::size_t q = 0; q < nq; ++q) {
    auto truth = testdata::naive_topk(rows, ids, qs.data() + q * d, d, 10);
    rec += testdata::recall(out[q], truth);
    if (!out[q].empty()) {
      EXPECT_NEAR(out[q][0].score, truth[0].score, 1e-4);  // final scores are float32
    }
    for (std::size_t i = 1; i < out[q].size(); ++i) EXPECT_GE(out[q][i - 1].score, out[q][i].score);
  }
  return rec / double(nq);
}

TEST(IvfInt8IndexTest, ProbingEveryListIsAnExactInt8ScanAtEveryDimension) {
  for (std::size_t d : {3u, 17u, 100u, 768u}) {
    const std::size_t n = 1200, nq = 12;
    auto rows = testdata::random_unit(n, d, static_cast<std::uint32_t>(d));
    IndexParams p;
    p.ivf_nlist = 8;
    auto idx = build(rows, d, p);
    ASSERT_EQ(idx->nlist(), 8u);
    auto qs = testdata::random_unit(nq, d, 77);
    EXPECT_GE(mean_recall(*idx, rows, qs, d, nq, SearchParams{0, 8}), 0.95) << d;
  }
}

TEST(IvfInt8IndexTest, FewProbesKeepRecallOnClusteredData) {
  const std::size_t n = 6000, d = 96, nq = 60;
  auto rows = testdata::clustered(n + nq, d, 60, 0.5f, 21);  // queries: the last nq points
  std::vector<float> qs(rows.end() - static_cast<std::ptrdiff_t>(nq * d), rows.end());
  rows.resize(n * d);
  IndexParams p;
  p.ivf_nlist = 60;
  auto idx = build(rows, d, p);
  const double r2 = mean_recall(*idx, rows, qs, d, nq, SearchParams{0, 2});
  const double r8 = mean_recall(*idx, rows, qs, d, nq, SearchParams{0, 8});
  EXPECT_GE(r2, 0.9);
  EXPECT_GE(r8, 0.97);
  EXPECT_GE(r8, r2);  // more probes never lose recall here
}

TEST(IvfInt8IndexTest, BatchedAndSingleQueriesGiveIdenticalResults) {
  const std::size_t n = 3000, d = 130, nq = 21;  // odd batch: 4-query tiles plus a tail
  auto rows = testdata::clustered(n + nq, d, 30, 0.7f, 5);
  std::vector<float> qs(rows.end() - static_cast<std::ptrdiff_t>(nq * d), rows.end());
  rows.resize(n * d);
  IndexParams p;
  p.ivf_nlist = 30;
  auto idx = build(rows, d, p);
  std::vector<std::vector<Hit>> batched, single;
  idx->search_with(qs, nq, 7, SearchParams{0, 3}, batched);
  ASSERT_EQ(batched.size(), nq);
  for (std::size_t q = 0; q < nq; ++q) {
    idx->search_with(std::span<const float>(qs.data() + q * d, d), 1, 7, SearchParams{0, 3}, single);
    ASSERT_EQ(single[0].size(), batched[q].size());
    for (std::size_t i = 0; i < single[0].size(); ++i) {
      EXPECT_EQ(single[0][i].id, batched[q][i].id);
      EXPECT_EQ(single[0][i].score, batched[q][i].score);
    }
  }
}

TEST(IvfInt8IndexTest, EmptyTinyAndOutOfRangeSettings) {
  const std::size_t d = 17;
  std::vector<float> q(d, 0.2f);
  std::vector<std::vector<Hit>> out;
  auto none = build({}, d);
  none->search(q, 1, 5, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].empty());

  auto rows = testdata::random_unit(20, d, 8);  // fewer than 39 per list: one list
  IndexParams p;
  p.ivf_nlist = 64;
  auto tiny = build(rows, d, p);
  EXPECT_EQ(tiny->nlist(), 1u);
  tiny->search_with(q, 1, 50, SearchParams{0, 1000}, out);  // k > n, nprobe > nlist
  EXPECT_EQ(out[0].size(), 20u);
  tiny->search(q, 1, 0, out);
  EXPECT_TRUE(out[0].empty());

  std::vector<VectorId> ids;
  std::vector<float> exported;
  tiny->export_vectors(ids, exported);
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(exported, rows);
}

TEST(IvfInt8IndexTest, EveryVectorIsInExactlyOneListAndFindsItself) {
  const std::size_t n = 2000, d = 64;
  auto rows = testdata::clustered(n, d, 20, 0.6f, 9);
  IndexParams p;
  p.ivf_nlist = 20;
  auto idx = build(rows, d, p);
  std::vector<std::vector<Hit>> out;
  // Each base vector, as a query probing its own best list, returns itself first.
  idx->search_with(rows, n, 1, SearchParams{0, 1}, out);
  std::size_t self = 0;
  for (std::size_t i = 0; i < n; ++i) self += !out[i].empty() && out[i][0].id == 1000 + i;
  EXPECT_GE(self, n * 99 / 100);  // a duplicate-like neighbour may tie at float precision
  EXPECT_LE(idx->memory_bytes() / n, d * 4 + 64 + 32u);  // owned floats + codes + bookkeeping
}

}  // namespace
}  // namespace troupe::memory
