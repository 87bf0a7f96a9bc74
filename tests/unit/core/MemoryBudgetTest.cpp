#include "core/MemoryBudget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace troupe {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

struct Fixture {
  std::atomic<std::uint64_t> used{0};
  MetricsRegistry metrics;
  MemoryBudget budget;
  explicit Fixture(std::uint64_t limit, unsigned soft = 85, unsigned hard = 100)
      : budget(MemoryBudgetOptions{limit, soft, hard, std::chrono::milliseconds(5), 3},
               [this] { return used.load(); }, &metrics) {}
};

TEST(MemoryBudgetTest, OffWhenLimitIsZero) {
  Fixture f(0);
  int trims = 0;
  f.budget.add_trim_hook("count", [&] { ++trims; });
  f.used = 100 * kMiB;
  EXPECT_FALSE(f.budget.enabled());
  EXPECT_EQ(f.budget.sample(), MemoryBudget::State::normal);
  EXPECT_FALSE(f.budget.shedding());
  EXPECT_EQ(trims, 0);
}

TEST(MemoryBudgetTest, MarksFollowThePercentages) {
  Fixture f(1000 * kMiB, 80, 95);
  EXPECT_EQ(f.budget.soft_bytes(), 800 * kMiB);
  EXPECT_EQ(f.budget.hard_bytes(), 950 * kMiB);
}

TEST(MemoryBudgetTest, SoftMarkRunsTrimHooksThenRepeatsThem) {
  Fixture f(100 * kMiB);
  int a = 0, b = 0;
  f.budget.add_trim_hook("a", [&] { ++a; });
  auto idb = f.budget.add_trim_hook("b", [&] { ++b; });
  f.used = 50 * kMiB;
  EXPECT_EQ(f.budget.sample(), MemoryBudget::State::normal);
  EXPECT_EQ(a, 0);
  f.used = 90 * kMiB;
  EXPECT_EQ(f.budget.sample(), MemoryBudget::State::soft);
  EXPECT_FALSE(f.budget.shedding());
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  // Staying above the soft mark: hooks again every trim_every (3) samples.
  f.budget.sample();
  f.budget.sample();
  EXPECT_EQ(a, 1);
  f.budget.sample();
  EXPECT_EQ(a, 2);
  f.budget.remove_trim_hook(idb);
  f.budget.sample();
  f.budget.sample();
  f.budget.sample();
  EXPECT_EQ(a, 3);
  EXPECT_EQ(b, 2);
  EXPECT_EQ(f.budget.trim_count(), 3u);
}

TEST(MemoryBudgetTest, HardMarkShedsAndRecoversWithHysteresis) {
  Fixture f(100 * kMiB);
  int trims = 0;
  f.budget.add_trim_hook("count", [&] { ++trims; });
  f.used = 120 * kMiB;
  EXPECT_EQ(f.budget.sample(), MemoryBudget::State::hard);
  EXPECT_TRUE(f.budget.shedding());
  EXPECT_EQ(trims, 1);
  EXPECT_NE(f.budget.reason().find("memory limit reached"), std::string::npos);
  f.budget.count_shed();
  EXPECT_EQ(f.budget.shed_count(), 1u);
  // Just below the hard mark but within 2% of the limit: still shedding.
  f.used = 99 * kMiB;
  EXPECT_EQ(f.budget.sample(), MemoryBudget::State::hard);
  f.used = 97 * kMiB;
  EXPECT_EQ(f.budget.sample(), MemoryBudget::State::soft);
  EXPECT_FALSE(f.budget.shedding());
  f.used = 84 * kMiB;  // within 2% below the soft mark (85)
  EXPECT_EQ(f.budget.sample(), MemoryBudget::State::soft);
  f.used = 10 * kMiB;
  EXPECT_EQ(f.budget.sample(), MemoryBudget::State::normal);
  EXPECT_EQ(f.budget.used_bytes(), 10 * kMiB);
}

TEST(MemoryBudgetTest, MetricsShowStateBytesLimitAndSheds) {
  Fixture f(100 * kMiB);
  f.used = 150 * kMiB;
  f.budget.sample();
  f.budget.count_shed();
  f.budget.count_shed();
  EXPECT_EQ(f.metrics.total("troupe_memory_budget_state"), 2.0);
  EXPECT_EQ(f.metrics.total("troupe_memory_budget_used_bytes"), double(150 * kMiB));
  EXPECT_EQ(f.metrics.total("troupe_memory_budget_limit_bytes"), double(100 * kMiB));
  EXPECT_EQ(f.metrics.total("troupe_memory_budget_shed_total"), 2.0);
  EXPECT_NE(f.metrics.render().find("troupe_memory_budget_mark_bytes{mark=\"soft\"}"), std::string::npos);
}

TEST(MemoryBudgetTest, HookMayTrimAndAThrowingHookDoesNotStopOthers) {
  Fixture f(100 * kMiB);
  bool second = false;
  f.budget.add_trim_hook("throws", [] { throw std::runtime_error("boom"); });
  // A hook that frees memory: the next sample sees the lower figure.
  f.budget.add_trim_hook("cache", [&] {
    second = true;
    f.used = 40 * kMiB;
  });
  f.used = 90 * kMiB;
  EXPECT_EQ(f.budget.sample(), MemoryBudget::State::soft);
  EXPECT_TRUE(second);
  EXPECT_EQ(f.budget.sample(), MemoryBudget::State::normal);
}

TEST(MemoryBudgetTest, SamplerThreadFollowsTheReader) {
  Fixture f(100 * kMiB);
  f.budget.start();
  f.used = 200 * kMiB;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!f.budget.shedding() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(f.budget.shedding());
  f.used = 1 * kMiB;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (f.budget.state() != MemoryBudget::State::normal && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(f.budget.state(), MemoryBudget::State::normal);
  f.budget.stop();
  f.budget.stop();  // idempotent
}

}  // namespace
}  // namespace troupe
