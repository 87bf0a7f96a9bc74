#include "core/BufferPool.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace troupe {
namespace {

TEST(BufferPool, ReusesCapacityAndCountsHitsAndMisses) {
  BufferPool pool(2, 1024);
  std::string a = pool.acquire();  // empty pool: a miss
  EXPECT_EQ(pool.misses(), 1u);
  EXPECT_EQ(pool.hits(), 0u);
  a.assign(300, 'x');
  const auto* data = a.data();
  const auto cap = a.capacity();
  pool.release(std::move(a));
  EXPECT_EQ(pool.size(), 1u);
  std::string b = pool.acquire();
  EXPECT_EQ(pool.hits(), 1u);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), cap);
  EXPECT_EQ(b.data(), data);  // the same memory, no new allocation
  EXPECT_EQ(pool.size(), 0u);
}

TEST(BufferPool, BoundsCountAndBufferSize) {
  BufferPool pool(2, 1024);
  for (int i = 0; i < 5; ++i) pool.release(std::string(100, 'a'));
  EXPECT_EQ(pool.size(), 2u);                 // never more than max_buffers
  pool.release(std::string(4096, 'b'));       // over max_capacity: freed, not kept
  pool.release(std::string());                // nothing worth keeping
  EXPECT_EQ(pool.size(), 2u);
  pool.trim();
  EXPECT_EQ(pool.size(), 0u);
  std::string c = pool.acquire();
  EXPECT_EQ(pool.misses(), 1u);
}

TEST(BufferPool, ConcurrentUseKeepsCountsConsistent) {
  BufferPool pool(64, 4096);
  constexpr int kThreads = 4, kRounds = 2000;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        std::string s = pool.acquire();
        EXPECT_TRUE(s.empty());
        s.append(64, 'z');
        pool.release(std::move(s));
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(pool.hits() + pool.misses(), static_cast<std::uint64_t>(kThreads * kRounds));
  EXPECT_LE(pool.misses(), static_cast<std::uint64_t>(kThreads));  // at most one per thread in flight
  EXPECT_LE(pool.size(), static_cast<std::size_t>(kThreads));
}

TEST(BufferPool, BatchesMoveBetweenACallersCacheAndThePoolWithinItsBounds) {
  BufferPool pool(4, 1024);
  std::vector<std::string> cache;
  for (int i = 0; i < 6; ++i) cache.push_back(std::string(100, 'a' + i));
  cache.push_back(std::string(2000, 'z'));  // too large to keep
  pool.give(cache, 3);                      // the last three: 'z' is freed, two are kept
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(pool.size(), 2u);
  pool.give(cache, 10);  // more than it holds: all four offered, two fit
  EXPECT_TRUE(cache.empty());
  EXPECT_EQ(pool.size(), 4u);
  EXPECT_EQ(pool.take(cache, 3), 3u);
  ASSERT_EQ(cache.size(), 3u);
  for (const auto& b : cache) {
    EXPECT_TRUE(b.empty());
    EXPECT_GE(b.capacity(), 100u);  // capacity kept
  }
  EXPECT_EQ(pool.take(cache, 3), 1u);
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.hits() + pool.misses(), 0u);  // batches are not acquires
}

}  // namespace
}  // namespace troupe
