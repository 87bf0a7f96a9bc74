#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "EngineTestUtil.h"

namespace troupe::memory {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using testdata::run_search;

constexpr int kDims = 17;

struct Store {
  std::mutex mu;
  std::map<SpaceId, SpaceVectors> spaces;
  std::atomic<int> loads{0};
  SpaceLoader loader() {
    return [this](SpaceId s) -> Result<SpaceVectors> {
      ++loads;
      std::lock_guard l(mu);
      return spaces[s];
    };
  }
  void fill(SpaceId s, std::size_t n, std::uint32_t seed) {
    std::lock_guard l(mu);
    spaces[s] = SpaceVectors{testdata::iota_ids(n, s * 100000), testdata::random_unit(n, kDims, seed)};
  }
};

EngineOptions options(Store& st, std::string dir = "") {
  EngineOptions o;
  o.dir = std::move(dir);
  o.embedder_name = "test-emb";
  o.dims = kDims;
  o.threads = 2;
  o.batch_window_us = 100;
  o.loader = st.loader();
  return o;
}

std::vector<float> row(const SpaceVectors& v, std::size_t i) {
  return {v.vectors.begin() + i * kDims, v.vectors.begin() + (i + 1) * kDims};
}

TEST(EngineTest, LoadsThroughLoaderThenSeesUpsertsAndRemoves) {
  Store st;
  st.fill(1, 300, 1);
  LocalVectorEngine e(options(st));
  ASSERT_TRUE(e.start().ok());
  auto q = row(st.spaces[1], 42);
  auto r = run_search(e, 1, q, 5);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].id, 100042u);
  EXPECT_NEAR((*r)[0].score, 1.0f, 1e-5);

  // Replace 100042 with a different vector and add a new exact match under another id.
  auto other = testdata::random_unit(1, kDims, 777);
  std::vector<VectorId> ids{100042, 5};
  std::vector<float> vecs = other;
  vecs.insert(vecs.end(), q.begin(), q.end());
  ASSERT_TRUE(e.upsert(1, ids, vecs).ok());
  r = run_search(e, 1, q, 3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].id, 5u);
  for (auto& h : *r) EXPECT_FALSE(h.id == 100042u && h.score > 0.99f);
  EXPECT_EQ(e.info(1).size, 301u);

  const VectorId gone[] = {5, 100042};
  ASSERT_TRUE(e.remove(1, gone).ok());
  r = run_search(e, 1, q, 300);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 299u);
  for (auto& h : *r) EXPECT_TRUE(h.id != 5u && h.id != 100042u);
  EXPECT_EQ(e.info(1).index_kind, "exact");
  EXPECT_TRUE(e.info(1).resident);
  EXPECT_EQ(e.info(99).index_kind, "");
}

TEST(EngineTest, RejectsBadInput) {
  Store st;
  LocalVectorEngine e(options(st));
  std::vector<float> bad(kDims + 1, 0.1f);
  EXPECT_EQ(run_search(e, 1, bad, 5).error().code, Errc::bad_request);
  EXPECT_EQ(run_search(e, 1, std::vector<float>(kDims, 0.1f), 5000).error().code, Errc::bad_request);
  const VectorId id[] = {1};
  EXPECT_EQ(e.upsert(1, id, bad).error().code, Errc::bad_request);
  std::vector<float> nan(kDims, std::nanf(""));
  EXPECT_EQ(e.upsert(1, id, nan).error().code, Errc::bad_request);
  auto empty = run_search(e, 3, std::vector<float>(kDims, 0.1f), 5);  // empty space
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(EngineTest, IndexKindFollowsThresholdsAndOverride) {
  Store st;
  st.fill(1, 50, 1);
  st.fill(2, 400, 2);
  st.fill(3, 900, 3);
  auto o = options(st);
  o.int8_threshold = 100;
  o.hnsw_threshold = 500;
  LocalVectorEngine e(o);
  for (SpaceId s : {1, 2, 3}) {
    auto q = row(st.spaces[s], 7);
    auto r = run_search(e, s, q, 1, 120s);  // the first search waits for the index build
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)[0].id, s * 100000 + 7);
  }
  EXPECT_EQ(e.info(1).index_kind, "exact");
  EXPECT_EQ(e.info(2).index_kind, "exact-int8");
  EXPECT_EQ(e.info(3).index_kind, "hnsw");
  o.index_override = "ivf";
  LocalVectorEngine e2(o);
  ASSERT_TRUE(run_search(e2, 3, row(st.spaces[3], 1), 1, 120s).ok());
  EXPECT_EQ(e2.info(3).index_kind, "ivf");
  o.index_override = "ivf-int8";
  o.int8_rerank = 2;
  o.ivf_nprobe = 4;
  LocalVectorEngine e3(o);
  auto r3 = run_search(e3, 3, row(st.spaces[3], 11), 1, 120s);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ((*r3)[0].id, 3 * 100000 + 11);
  EXPECT_EQ(e3.info(3).index_kind, "ivf-int8");
}

TEST(EngineTest, ConcurrentInsertsAndSearches) {
  Store st;
  st.fill(1, 200, 1);
  auto o = options(st);
  LocalVectorEngine e(o);
  ASSERT_TRUE(run_search(e, 1, row(st.spaces[1], 0), 1).ok());  // loaded before the storm
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, searches{0};
  std::thread writer([&] {
    auto vecs = testdata::random_unit(1000, kDims, 9);
    for (VectorId i = 0; i < 1000; ++i) {
      const VectorId id[] = {i + 1};
      if (!e.upsert(1, id, std::span<const float>(vecs.data() + i * kDims, kDims)).ok()) ++failures;
      if (i % 3 == 0) {
        const VectorId rm[] = {100000 + i % 200};
        (void)e.remove(1, rm);
      }
    }
  });
  asio::io_context io;
  auto q = testdata::random_unit(1, kDims, 5);
  for (int c = 0; c < 8; ++c)
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      while (!stop) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        auto r = co_await e.search(1, q, 10, deadline);
        if (!r.ok() || r->empty()) ++failures;
        ++searches;
      }
    }, asio::detached);
  std::thread io_thread([&] { io.run(); });
  writer.join();
  stop = true;
  io_thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(searches, 0);
  // 200 loaded + 1000 new; removals hit 200 - ... distinct base ids i % 200 for i % 3 == 0
  std::set<VectorId> removed;
  for (VectorId i = 0; i < 1000; i += 3) removed.insert(100000 + i % 200);
  EXPECT_EQ(e.info(1).size, 1200u - removed.size());
  auto all = run_search(e, 1, q, 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1000u);
  std::set<VectorId> seen;
  for (auto& h : *all) EXPECT_TRUE(seen.insert(h.id).second) << "duplicate id " << h.id;
}

TEST(EngineTest, CompactionKeepsResultsExact) {
  Store st;
  st.fill(1, 100, 1);
  LocalVectorEngine e(options(st));
  ASSERT_TRUE(run_search(e, 1, row(st.spaces[1], 0), 1).ok());
  auto vecs = testdata::random_unit(600, kDims, 4);
  auto ids = testdata::iota_ids(600, 1);
  ASSERT_TRUE(e.upsert(1, ids, vecs).ok());
  for (int i = 0; i < 200 && e.stats().compactions == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GE(e.stats().compactions, 1u);
  std::vector<float> all_rows = st.spaces[1].vectors;
  all_rows.insert(all_rows.end(), vecs.begin(), vecs.end());
  std::vector<VectorId> all_ids = st.spaces[1].ids;
  all_ids.insert(all_ids.end(), ids.begin(), ids.end());
  auto q = testdata::random_unit(1, kDims, 8);
  auto r = run_search(e, 1, q, 10);
  ASSERT_TRUE(r.ok());
  auto truth = testdata::naive_topk(all_rows, all_ids, q.data(), kDims, 10);
  EXPECT_EQ(testdata::recall(*r, truth), 1.0);
  EXPECT_EQ(e.info(1).size, 700u);
}

TEST(EngineTest, MicroBatchesConcurrentQueries) {
  Store st;
  st.fill(1, 500, 1);
  auto o = options(st);
  o.batch_window_us = 1000;
  o.batch_max = 16;
  LocalVectorEngine e(o);
  ASSERT_TRUE(run_search(e, 1, row(st.spaces[1], 0), 1).ok());
  const auto before = e.stats();
  asio::io_context io;
  int ok = 0;
  for (int i = 0; i < 16; ++i)
    asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
      const auto q = row(st.spaces[1], i);
      const auto deadline = std::chrono::steady_clock::now() + 5s;
      auto r = co_await e.search(1, q, 1, deadline);
      if (r.ok() && !r->empty() && (*r)[0].id == 100000u + i) ++ok;
    }, asio::detached);
  io.run();
  EXPECT_EQ(ok, 16);
  const auto after = e.stats();
  EXPECT_EQ(after.batched_queries - before.batched_queries, 16u);
  EXPECT_LT(after.batches - before.batches, 16u);
}

TEST(EngineTest, DeadlineGivesTimeout) {
  Store st;
  testdata::Gate gate;
  auto o = options(st);
  o.loader = [&](SpaceId) -> Result<SpaceVectors> {
    gate.wait();
    return SpaceVectors{};
  };
  LocalVectorEngine e(o);
  std::vector<float> q(kDims, 0.2f);
  EXPECT_EQ(run_search(e, 1, q, 3, -1ms).error().code, Errc::timeout);
  auto r = run_search(e, 1, q, 3, 50ms);  // the pool is stuck in the loader
  EXPECT_EQ(r.error().code, Errc::timeout);
  gate.release();
  EXPECT_GE(e.stats().timeouts, 2u);
}

TEST(EngineTest, SearchesOfASpaceBeingLoadedFailFastWithUnavailable) {
  Store st;
  testdata::Gate gate;
  auto o = options(st);
  o.batch_window_us = 0;
  o.loader = [&](SpaceId) -> Result<SpaceVectors> {
    gate.wait();
    return SpaceVectors{{1}, std::vector<float>(kDims, 0.1f)};
  };
  LocalVectorEngine e(o);
  std::vector<float> q(kDims, 0.2f);
  std::optional<testdata::SearchResult> first;
  std::thread t([&] { first.emplace(run_search(e, 1, q, 3, 20s)); });
  gate.wait_for_waiter();
  auto second = run_search(e, 1, q, 3, 20s);
  EXPECT_EQ(second.error().code, Errc::unavailable);
  gate.release();
  t.join();
  ASSERT_TRUE(first->ok());
  EXPECT_EQ((*first)->size(), 1u);
  EXPECT_TRUE(run_search(e, 1, q, 3).ok());
}

TEST(EngineTest, QueueFullGivesUnavailableAndShutdownCompletesPending) {
  Store st;
  testdata::Gate gate;
  auto o = options(st);
  o.max_queue = 3;
  o.threads = 1;
  o.loader = [&](SpaceId) -> Result<SpaceVectors> {
    gate.wait();
    return SpaceVectors{};
  };
  LocalVectorEngine e(o);
  asio::io_context io;
  std::vector<Errc> codes;
  int oks = 0;
  std::vector<float> q(kDims, 0.2f);
  for (SpaceId s = 1; s <= 6; ++s)
    asio::co_spawn(io, [&, s]() -> asio::awaitable<void> {
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      auto r = co_await e.search(s, q, 3, deadline);
      if (r.ok()) ++oks; else codes.push_back(r.error().code);
    }, asio::detached);
  std::thread io_thread([&] { io.run(); });
  gate.wait_for_waiter();
  std::thread closer([&] { e.shutdown(); });  // blocks until the loader returns
  std::this_thread::sleep_for(50ms);
  gate.release();
  closer.join();
  io_thread.join();
  EXPECT_EQ(oks + codes.size(), 6u);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), Errc::unavailable), 6 - oks);
  EXPECT_GE(std::count(codes.begin(), codes.end(), Errc::unavailable), 3);  // 3 rejected when full
  EXPECT_EQ(run_search(e, 1, q, 3).error().code, Errc::unavailable);
}

TEST(EngineTest, CancelledSearchCompletesAndPoolTouchesNothingFreed) {
  Store st;
  testdata::Gate gate;
  auto o = options(st);
  o.loader = [&](SpaceId) -> Result<SpaceVectors> {
    gate.wait();
    return SpaceVectors{{1}, std::vector<float>(kDims, 0.1f)};
  };
  LocalVectorEngine e(o);
  std::optional<testdata::SearchResult> out;
  {
    asio::io_context io;
    asio::cancellation_signal sig;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      std::vector<float> q(kDims, 0.2f);
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      auto r = co_await e.search(1, q, 3, deadline);
      out.emplace(std::move(r));
    }, asio::bind_cancellation_slot(sig.slot(), asio::detached));
    std::thread t([&] {
      gate.wait_for_waiter();
      asio::post(io, [&] { sig.emit(asio::cancellation_type::terminal); });
    });
    io.run();
    t.join();
  }  // the io_context and the coroutine are gone; the pool still runs the batch
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->error().code, Errc::cancelled);
  gate.release();
  for (int i = 0; i < 2000 && !e.info(1).resident; ++i) std::this_thread::sleep_for(5ms);
  auto r = run_search(e, 1, std::vector<float>(kDims, 0.2f), 3);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->size(), 1u);
  EXPECT_EQ(e.stats().cancelled, 1u);
}

}  // namespace
}  // namespace troupe::memory
