// EventRing: the replay window keeps the newest `capacity` events in order across the wrap, and
// stops allocating once full.
#include "sync/EventRing.h"

#include <gtest/gtest.h>

#include <vector>

namespace troupe::sync {
namespace {

EventPtr ev(std::int64_t seq) {
  auto e = std::make_shared<Event>();
  e->seq = seq;
  return e;
}

std::vector<std::int64_t> seqs(const EventRing& r) {
  std::vector<std::int64_t> out;
  r.for_each([&](const EventPtr& e) { out.push_back(e->seq); });
  return out;
}

TEST(EventRing, GrowsThenKeepsTheNewestInOrderAcrossTheWrap) {
  EventRing r(4);
  EXPECT_TRUE(r.empty());
  for (int i = 1; i <= 3; ++i) r.push(ev(i));
  EXPECT_EQ(seqs(r), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(r.oldest()->seq, 1);
  for (int i = 4; i <= 11; ++i) {
    r.push(ev(i));
    EXPECT_EQ(r.size(), std::min<std::size_t>(static_cast<std::size_t>(i), 4));
    EXPECT_EQ(r.oldest()->seq, std::max(1, i - 3)) << i;
  }
  EXPECT_EQ(seqs(r), (std::vector<std::int64_t>{8, 9, 10, 11}));
}

TEST(EventRing, EvictedEventsAreReleased) {
  EventRing r(2);
  auto first = ev(1);
  std::weak_ptr<const Event> watch = first;
  r.push(std::move(first));
  r.push(ev(2));
  EXPECT_FALSE(watch.expired());
  r.push(ev(3));
  EXPECT_TRUE(watch.expired()) << "the oldest slot was overwritten";
}

TEST(EventRing, SpansBlocksAndWrapsAcrossThem) {
  // Capacity not a multiple of the block: the last block is partly used, and the wrap crosses
  // from it back to the first.
  const std::size_t cap = EventRing::kBlock * 2 + 7;
  EventRing r(cap);
  std::vector<std::weak_ptr<const Event>> watch;
  for (std::size_t i = 1; i <= cap; ++i) {
    auto e = ev(static_cast<std::int64_t>(i));
    watch.push_back(e);
    r.push(std::move(e));
  }
  ASSERT_EQ(r.size(), cap);
  EXPECT_EQ(r.oldest()->seq, 1);
  const std::size_t more = EventRing::kBlock + 3;
  for (std::size_t i = cap + 1; i <= cap + more; ++i) r.push(ev(static_cast<std::int64_t>(i)));
  EXPECT_EQ(r.size(), cap);
  EXPECT_EQ(r.oldest()->seq, static_cast<std::int64_t>(more + 1));
  auto got = seqs(r);
  ASSERT_EQ(got.size(), cap);
  for (std::size_t i = 0; i < cap; ++i) EXPECT_EQ(got[i], static_cast<std::int64_t>(more + 1 + i)) << i;
  // Exactly the overwritten events were released.
  for (std::size_t i = 0; i < cap; ++i) EXPECT_EQ(watch[i].expired(), i < more) << i;
}

TEST(EventRing, ZeroCapacityHoldsNothing) {
  EventRing r(0);
  r.push(ev(1));
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(seqs(r).empty());
}

}  // namespace
}  // namespace troupe::sync
