// EventRing: the replay window keeps the newest `capacity` events in order across the wrap, and
// stops allocating once full; a run (one item of several events) counts as its events.
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

EventPtr run(std::int64_t seq, std::uint32_t count) {
  auto e = std::make_shared<Event>();
  e->seq = seq;
  e->count = count;
  return e;
}

TEST(EventRing, RunsCountAsTheirEventsAndTheOldestLeaveUntilTheNewOneFits) {
  EventRing r(10);
  EXPECT_EQ(r.push(run(1, 4)), 4);  // 1..4
  EXPECT_EQ(r.push(ev(5)), 1);
  EXPECT_EQ(r.push(run(6, 3)), 3);  // 6..8: 8 events in 3 items
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(r.events(), 8u);
  // 9..12 needs room for 4: the run 1..4 leaves (4 go, 4 come).
  EXPECT_EQ(r.push(run(9, 4)), 0);
  EXPECT_EQ(seqs(r), (std::vector<std::int64_t>{5, 6, 9}));
  EXPECT_EQ(r.events(), 8u);
  // Singles fill it to the capacity, then each pushes out what it must.
  EXPECT_EQ(r.push(ev(13)), 1);
  EXPECT_EQ(r.push(ev(14)), 1);
  EXPECT_EQ(r.events(), 10u);
  EXPECT_EQ(r.push(ev(15)), 0);  // 5 leaves
  EXPECT_EQ(r.oldest()->seq, 6);
  EXPECT_EQ(r.push(ev(16)), -2);  // 6..8 leaves whole
  EXPECT_EQ(seqs(r), (std::vector<std::int64_t>{9, 13, 14, 15, 16}));
  EXPECT_EQ(r.events(), 8u);
}

TEST(EventRing, AnItemLargerThanTheWindowIsKeptAlone) {
  EventRing r(4);
  r.push(ev(1));
  r.push(ev(2));
  EXPECT_EQ(r.push(run(3, 9)), 7);
  EXPECT_EQ(seqs(r), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(r.events(), 9u);
  EXPECT_EQ(r.push(ev(12)), -8);
  EXPECT_EQ(seqs(r), (std::vector<std::int64_t>{12}));
}

TEST(EventRing, WrapsWithRunsOfMixedSizesOverManyRounds) {
  // Items of 1..5 events through a window of 7: the slots wrap at 7 whatever the items hold, and
  // the window always ends with the newest item and holds at most 7 events.
  EventRing r(7);
  std::int64_t next = 1;
  std::vector<std::pair<std::int64_t, std::uint32_t>> pushed;
  for (int i = 0; i < 500; ++i) {
    const auto n = static_cast<std::uint32_t>(1 + (i * 7) % 5);
    r.push(run(next, n));
    pushed.emplace_back(next, n);
    next += n;
    ASSERT_LE(r.events(), 7u);
    // What is held is the newest items that fit, in order.
    std::vector<std::int64_t> want;
    std::size_t held = 0;
    for (auto it = pushed.rbegin(); it != pushed.rend() && held + it->second <= 7; ++it) {
      held += it->second;
      want.insert(want.begin(), it->first);
    }
    ASSERT_EQ(seqs(r), want) << i;
    ASSERT_EQ(r.events(), held);
  }
}

TEST(EventRing, ZeroCapacityHoldsNothing) {
  EventRing r(0);
  r.push(ev(1));
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(seqs(r).empty());
}

}  // namespace
}  // namespace troupe::sync
