#include <gtest/gtest.h>

#include "core/Metrics.h"

namespace troupe {
namespace {

TEST(MetricsReadTest, TotalsSumEveryLabelSet) {
  MetricsRegistry m;
  m.counter("c_total", "c", {{"outcome", "a"}}).inc(3);
  m.counter("c_total", "c", {{"outcome", "b"}}).inc(4);
  m.gauge("g", "g").set(2.5);
  m.collect("coll", "x", [] {
    return std::vector<std::pair<MetricsRegistry::Labels, double>>{{{{"name", "x"}}, 1}, {{{"name", "y"}}, 2}};
  });
  EXPECT_EQ(m.total("c_total"), 7.0);
  EXPECT_EQ(m.total("g"), 2.5);
  EXPECT_EQ(m.total("coll"), 3.0);
  EXPECT_FALSE(m.total("missing").has_value());
  auto v = m.values("c_total");
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[1].first[0].second, "b");
  EXPECT_EQ((*v)[1].second, 4.0);
}

TEST(MetricsReadTest, HistogramTotalMergesChildren) {
  MetricsRegistry m;
  auto& a = m.histogram("h_seconds", "h", {{"mode", "a"}}, {0.1, 1});
  auto& b = m.histogram("h_seconds", "h", {{"mode", "b"}}, {0.1, 1});
  a.observe(0.05);
  a.observe(0.5);
  b.observe(5);
  auto t = m.histogram_total("h_seconds");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->bounds, (std::vector<double>{0.1, 1}));
  EXPECT_EQ(t->snapshot.cumulative, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(t->snapshot.count, 3u);
  EXPECT_DOUBLE_EQ(t->snapshot.sum, 5.55);
  EXPECT_FALSE(m.histogram_total("g").has_value());
  EXPECT_FALSE(m.values("h_seconds").has_value());
  auto names = m.names();
  EXPECT_EQ(names, (std::vector<std::string>{"h_seconds"}));
}

}  // namespace
}  // namespace troupe
