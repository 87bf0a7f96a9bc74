#include "core/CircuitBreaker.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace troupe {
namespace {

using State = CircuitBreaker::State;

struct BreakerFixture : ::testing::Test {
  FakeClock clock;
  CircuitBreaker breaker{clock, CircuitBreakerOptions{3, 1000}};

  void fail_times(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(breaker.allow());
      breaker.on_failure();
    }
  }
};

TEST_F(BreakerFixture, StartsClosedAndPassesCalls) {
  EXPECT_EQ(breaker.state(), State::closed);
  EXPECT_TRUE(breaker.allow());
  breaker.on_success();
  EXPECT_EQ(breaker.state(), State::closed);
}

TEST_F(BreakerFixture, OpensAfterThresholdConsecutiveFailures) {
  fail_times(2);
  EXPECT_EQ(breaker.state(), State::closed);
  fail_times(1);
  EXPECT_EQ(breaker.state(), State::open);
  EXPECT_FALSE(breaker.allow());
  EXPECT_EQ(breaker.stats().opened, 1u);
  EXPECT_EQ(breaker.stats().rejected, 1u);
}

TEST_F(BreakerFixture, SuccessResetsTheConsecutiveCount) {
  fail_times(2);
  ASSERT_TRUE(breaker.allow());
  breaker.on_success();
  fail_times(2);
  EXPECT_EQ(breaker.state(), State::closed);
  fail_times(1);
  EXPECT_EQ(breaker.state(), State::open);
}

TEST_F(BreakerFixture, StaysOpenForTheDurationThenHalfOpen) {
  fail_times(3);
  clock.advance_ms(999);
  EXPECT_EQ(breaker.state(), State::open);
  EXPECT_FALSE(breaker.allow());
  clock.advance_ms(1);
  EXPECT_EQ(breaker.state(), State::half_open);
}

TEST_F(BreakerFixture, HalfOpenLetsExactlyOneProbeThrough) {
  fail_times(3);
  clock.advance_ms(1000);
  EXPECT_TRUE(breaker.allow());
  EXPECT_EQ(breaker.state(), State::half_open);
  EXPECT_FALSE(breaker.allow());
  EXPECT_FALSE(breaker.allow());
}

TEST_F(BreakerFixture, ProbeSuccessCloses) {
  fail_times(3);
  clock.advance_ms(1000);
  ASSERT_TRUE(breaker.allow());
  breaker.on_success();
  EXPECT_EQ(breaker.state(), State::closed);
  EXPECT_TRUE(breaker.allow());
  EXPECT_TRUE(breaker.allow());
  // Closed again with a fresh count: it takes the full threshold to reopen.
  fail_times(2);
  EXPECT_EQ(breaker.state(), State::closed);
}

TEST_F(BreakerFixture, ProbeFailureReopensForAnotherPeriod) {
  fail_times(3);
  clock.advance_ms(1000);
  ASSERT_TRUE(breaker.allow());
  breaker.on_failure();
  EXPECT_EQ(breaker.state(), State::open);
  EXPECT_FALSE(breaker.allow());
  clock.advance_ms(999);
  EXPECT_FALSE(breaker.allow());
  clock.advance_ms(1);
  EXPECT_TRUE(breaker.allow());
  EXPECT_EQ(breaker.stats().opened, 2u);
}

TEST_F(BreakerFixture, LostProbeIsReplacedAfterOpenDuration) {
  fail_times(3);
  clock.advance_ms(1000);
  ASSERT_TRUE(breaker.allow());  // this probe never reports
  clock.advance_ms(500);
  EXPECT_FALSE(breaker.allow());
  clock.advance_ms(500);
  EXPECT_TRUE(breaker.allow());
  breaker.on_success();
  EXPECT_EQ(breaker.state(), State::closed);
}

TEST_F(BreakerFixture, LateOutcomesDoNotShortenOrExtendOpenPeriod) {
  ASSERT_TRUE(breaker.allow());  // a slow call started while closed
  fail_times(3);
  ASSERT_EQ(breaker.state(), State::open);
  breaker.on_success();          // the slow call finally succeeds
  EXPECT_EQ(breaker.state(), State::open);
  clock.advance_ms(600);
  breaker.on_failure();          // another late failure
  clock.advance_ms(400);
  EXPECT_EQ(breaker.state(), State::half_open);
}

TEST(CircuitBreaker, ClampsNonsenseOptions) {
  FakeClock clock;
  CircuitBreaker b(clock, CircuitBreakerOptions{0, 0});
  EXPECT_EQ(b.options().failure_threshold, 1);
  EXPECT_EQ(b.options().open_ms, 1);
  ASSERT_TRUE(b.allow());
  b.on_failure();
  EXPECT_EQ(b.state(), State::open);
}

TEST(CircuitBreaker, StateNames) {
  EXPECT_EQ(circuit_state_name(State::closed), "closed");
  EXPECT_EQ(circuit_state_name(State::open), "open");
  EXPECT_EQ(circuit_state_name(State::half_open), "half_open");
}

TEST(CircuitBreaker, ConcurrentHalfOpenAdmitsOneProbe) {
  FakeClock clock;
  CircuitBreaker b(clock, CircuitBreakerOptions{1, 100});
  ASSERT_TRUE(b.allow());
  b.on_failure();
  clock.advance_ms(100);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (b.allow()) admitted.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1);
  EXPECT_EQ(b.stats().rejected, 3999u);
}

}  // namespace
}  // namespace troupe
