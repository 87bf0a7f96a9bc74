#include "chat/IdempotencyGate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace troupe::chat {
namespace {

using Enter = IdempotencyGate::Enter;

TEST(IdempotencyGateTest, SecondHolderOfAKeyIsRefusedUntilTheFirstLeaves) {
  IdempotencyGate g;
  IdempotencyGate::Hold a;
  ASSERT_EQ(g.enter(1, "k", a), Enter::ok);
  IdempotencyGate::Hold b;
  EXPECT_EQ(g.enter(1, "k", b), Enter::in_flight);
  // Keys are per user, and other keys are free.
  IdempotencyGate::Hold c, d;
  EXPECT_EQ(g.enter(2, "k", c), Enter::ok);
  EXPECT_EQ(g.enter(1, "k2", d), Enter::ok);
  EXPECT_EQ(g.in_flight(), 3u);
  a.release();
  EXPECT_EQ(g.in_flight(), 2u);
  EXPECT_EQ(g.enter(1, "k", b), Enter::ok);
}

TEST(IdempotencyGateTest, HoldReleasesOnDestructionAndMove) {
  IdempotencyGate g;
  {
    IdempotencyGate::Hold h;
    ASSERT_EQ(g.enter(7, "x", h), Enter::ok);
    IdempotencyGate::Hold moved(std::move(h));
    h.release();  // the moved-from hold owns nothing
    EXPECT_EQ(g.in_flight(), 1u);
  }
  EXPECT_EQ(g.in_flight(), 0u);
  // Entering again with a hold that already owns a key gives that key up first.
  IdempotencyGate::Hold h;
  ASSERT_EQ(g.enter(7, "x", h), Enter::ok);
  ASSERT_EQ(g.enter(7, "y", h), Enter::ok);
  EXPECT_EQ(g.in_flight(), 1u);
  IdempotencyGate::Hold other;
  EXPECT_EQ(g.enter(7, "x", other), Enter::ok);
}

TEST(IdempotencyGateTest, ExactlyOneOfManyConcurrentRequestsEnters) {
  IdempotencyGate g;
  constexpr int kThreads = 8;
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> entered{0}, refused{0};
    std::atomic<bool> go{false};
    std::vector<IdempotencyGate::Hold> holds(kThreads);
    std::vector<std::thread> ts;
    for (int i = 0; i < kThreads; ++i) {
      ts.emplace_back([&, i] {
        while (!go.load()) std::this_thread::yield();
        auto r = g.enter(1, "same", holds[i]);
        if (r == Enter::ok) ++entered;
        if (r == Enter::in_flight) ++refused;
      });
    }
    go = true;
    for (auto& t : ts) t.join();
    EXPECT_EQ(entered.load(), 1);
    EXPECT_EQ(refused.load(), kThreads - 1);
    holds.clear();
    EXPECT_EQ(g.in_flight(), 0u);
  }
}

}  // namespace
}  // namespace troupe::chat
