#include "core/LruMap.h"

#include <gtest/gtest.h>

#include <string>

namespace troupe {
namespace {

TEST(LruMap, DropsTheLeastRecentlyUsedToStayWithinBothBounds) {
  LruMap<int, std::string> m(3, 100);
  EXPECT_TRUE(m.put(1, "a", 10));
  EXPECT_TRUE(m.put(2, "b", 10));
  EXPECT_TRUE(m.put(3, "c", 10));
  ASSERT_NE(m.find(1, true), nullptr);  // 1 is now the most recently used
  EXPECT_NE(m.find(2, false), nullptr); // a look without touching leaves 2 the oldest
  EXPECT_TRUE(m.put(4, "d", 10));
  EXPECT_EQ(m.find(2, false), nullptr);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.bytes(), 30u);

  EXPECT_TRUE(m.put(5, "e", 95));  // needs the room of all three others
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.bytes(), 95u);
  EXPECT_FALSE(m.put(5, "too big", 101));  // alone over the bound: not stored, the old one gone
  EXPECT_EQ(m.find(5, false), nullptr);
  EXPECT_EQ(m.bytes(), 0u);
}

TEST(LruMap, ReplacingAnEntryRecountsItsBytes) {
  LruMap<int, std::string> m(10, 100);
  m.put(1, "a", 40);
  m.put(1, "b", 30);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.bytes(), 30u);
  EXPECT_EQ(*m.find(1, false), "b");
  m.erase(1);
  m.erase(1);  // absent: nothing happens
  EXPECT_EQ(m.bytes(), 0u);
  m.put(2, "c", 5);
  m.clear();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.bytes(), 0u);
  LruMap<int, int> none(0, 100);
  EXPECT_FALSE(none.put(1, 1, 1));
}

TEST(LruMap, EraseIfDropsTheMatchingEntriesAndTheirBytes) {
  LruMap<int, std::string> m(10, 1000);
  for (int i = 1; i <= 6; ++i) m.put(i, i % 2 ? "odd" : "even", 10 * i);
  EXPECT_EQ(m.erase_if([](int, const std::string& v) { return v == "odd"; }), 3u);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.bytes(), 20u + 40u + 60u);
  EXPECT_EQ(m.find(1, false), nullptr);
  ASSERT_NE(m.find(2, false), nullptr);
  // The order of what is left still works: filling up drops the least recently used (2) first.
  for (int i = 7; i <= 14; ++i) m.put(i, "new", 1);  // the 8th put is one too many
  EXPECT_EQ(m.find(2, false), nullptr);
  EXPECT_NE(m.find(4, false), nullptr);
}

TEST(LruMap, TakeHandsTheValueOverAndForgetsIt) {
  LruMap<int, std::string> m(2, 100);
  m.put(1, std::string(50, 'x'), 50);
  m.put(2, "b", 10);
  auto v = m.take(1);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, std::string(50, 'x'));
  EXPECT_FALSE(m.take(1).has_value());
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.bytes(), 10u);
  // The taken key left the recency order too: two more puts drop only 2.
  m.put(3, "c", 10);
  EXPECT_EQ(m.size(), 2u);
  m.put(4, "d", 10);
  EXPECT_EQ(m.find(2, false), nullptr);
  EXPECT_NE(m.find(3, false), nullptr);
}

}  // namespace
}  // namespace troupe
