#include "sync/EventPool.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "sync/InProcessBus.h"

namespace troupe::sync::testing {
namespace {

class CountingSeq final : public SeqAllocator {
 public:
  Result<std::int64_t> reserve(std::int64_t, std::int64_t count) override { return high_ += count; }

 private:
  std::int64_t high_ = 0;
};

TEST(EventPool, ReleasedEventsAreReusedWithTheirBuffers) {
  auto& pool = EventPool::instance();
  // Warm: one event made and dropped leaves a block and a buffer behind.
  {
    auto e = pool.make();
    e->json.assign(200, 'j');
  }
  const auto block_hits = pool.block_hits();
  const auto block_misses = pool.block_misses();
  const auto buf_hits = pool.buffer_hits();
  const void* block = nullptr;
  const char* data = nullptr;
  {
    auto e = pool.make();
    EXPECT_TRUE(e->json.empty());
    EXPECT_GE(e->json.capacity(), 200u);  // capacity kept from the previous event
    block = e.get();
    data = e->json.data();
  }
  auto again = pool.make();
  EXPECT_EQ(pool.block_misses(), block_misses);
  EXPECT_EQ(pool.block_hits(), block_hits + 2);
  EXPECT_EQ(pool.buffer_hits(), buf_hits + 2);
  EXPECT_EQ(static_cast<const void*>(again.get()), block);  // LIFO free list: same memory
  EXPECT_EQ(again->json.data(), data);
  EXPECT_EQ(again->seq, 0);
  EXPECT_TRUE(again->type.empty());
}

TEST(EventPool, PublishedEventsComeFromThePoolAndStayIntact) {
  CountingSeq seq;
  InProcessBus bus(seq, InProcessBusOptions{});
  auto& pool = EventPool::instance();
  (void)bus.publish(1, "token", R"("text":"warm")");  // ring holds it; more below recycle
  const auto hits = pool.block_hits() + pool.block_misses();
  std::vector<EventPtr> kept;
  for (int i = 0; i < 10; ++i) {
    auto ev = bus.publish(1, "token", R"("text":"t)" + std::to_string(i) + "\"");
    ASSERT_TRUE(ev.ok());
    kept.push_back(*ev);
  }
  EXPECT_EQ(pool.block_hits() + pool.block_misses(), hits + 10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(kept[i]->json, R"({"type":"token","chat_id":1,"seq":)" + std::to_string(i + 2) +
                                 R"(,"text":"t)" + std::to_string(i) + "\"}");
    EXPECT_EQ(kept[i]->type, "token");
  }
}

TEST(EventPool, EventsMadeOnOneThreadAndFreedOnAnotherStayPooledAndCounted) {
  auto& pool = EventPool::instance();
  const auto made_before = pool.block_hits() + pool.block_misses();
  const auto bufs_before = pool.buffer_hits() + pool.buffer_misses();
  constexpr int kEvents = 1000;
  std::vector<std::shared_ptr<Event>> events;
  std::thread maker([&] {
    for (int i = 0; i < kEvents; ++i) {
      auto e = pool.make();
      e->json.assign(100, 'x');
      events.push_back(std::move(e));
    }
  });
  maker.join();  // its cache and counts went to the depot when it exited
  EXPECT_EQ(pool.block_hits() + pool.block_misses(), made_before + kEvents);
  EXPECT_EQ(pool.buffer_hits() + pool.buffer_misses(), bufs_before + kEvents);
  events.clear();  // freed here: this thread's cache overflows into the depot in batches
  EXPECT_GE(pool.free_blocks(), static_cast<std::size_t>(kEvents) - EventPool::kThreadCache - EventPool::kBatch);
  EXPECT_GE(pool.free_buffers(), static_cast<std::size_t>(kEvents) - EventPool::kThreadCache - EventPool::kBatch);
  // Another thread now makes events from the depot without touching the heap.
  const auto misses = pool.block_misses();
  std::thread reuser([&] {
    std::vector<std::shared_ptr<Event>> held;  // all alive at once: 500 blocks from the depot
    for (int i = 0; i < 500; ++i) held.push_back(pool.make());
  });
  reuser.join();
  EXPECT_EQ(pool.block_misses(), misses);
  pool.trim();
  EXPECT_EQ(pool.free_blocks(), 0u);
  EXPECT_EQ(pool.free_buffers(), 0u);
}

}  // namespace
}  // namespace troupe::sync::testing
