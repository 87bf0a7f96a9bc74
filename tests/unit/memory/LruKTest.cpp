#include <gtest/gtest.h>

#include "memory/engine/LruK.h"

namespace troupe::memory {
namespace {

TEST(LruKTest, RanksByKthLastAccessThenLastAccess) {
  LruK l(2);
  l.touch(1, 100);           // one access only
  l.touch(2, 10);
  l.touch(2, 20);            // k-th = 10
  l.touch(3, 50);
  l.touch(3, 60);            // k-th = 50
  l.touch(4, 200);           // one access, but most recent
  auto r = l.ranked();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0], 3u);
  EXPECT_EQ(r[1], 2u);
  EXPECT_EQ(r[2], 4u);  // fewer than K accesses: below all, then by last access
  EXPECT_EQ(r[3], 1u);
  const SpaceId all[] = {1, 2, 3, 4};
  EXPECT_EQ(l.victim(all, 0), std::optional<SpaceId>(1));
  EXPECT_EQ(l.victim(all, 1), std::optional<SpaceId>(4));
  EXPECT_TRUE(l.hot(3, 40));
  EXPECT_FALSE(l.hot(3, 55));
  EXPECT_FALSE(l.hot(4, 0));
  l.forget(3);
  EXPECT_EQ(l.ranked()[0], 2u);
}

TEST(LruKTest, SerializeRoundTripAndMalformedInput) {
  LruK l(3);
  for (int i = 0; i < 5; ++i) l.touch(7, 1000 + i);
  l.touch(9, 5);
  auto back = LruK::parse(3, l.serialize());
  EXPECT_EQ(back.ranked(), l.ranked());
  EXPECT_TRUE(back.hot(7, 1002));
  EXPECT_FALSE(back.hot(7, 1003));
  auto junk = LruK::parse(3, "lruk 3\nabc\n12 x\n13 5 9\n14 9 5\n");
  EXPECT_EQ(junk.size(), 1u);  // only "14 9 5" is newest-first
  EXPECT_EQ(LruK::parse(2, "garbage").size(), 0u);
  EXPECT_EQ(LruK::parse(2, "").size(), 0u);
}

}  // namespace
}  // namespace troupe::memory
