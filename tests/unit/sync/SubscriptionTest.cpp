#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>
#include <variant>
#include <vector>
#include <boost/asio/executor_work_guard.hpp>

#include "SyncTestUtil.h"
#include "sync/Subscription.h"

namespace troupe::sync::testing {
namespace {

namespace asio = boost::asio;

EventPtr make_event(std::int64_t seq, std::string type = "token") {
  auto e = std::make_shared<Event>();
  e->chat_id = 1;
  e->seq = seq;
  e->type = std::move(type);
  e->json = "{}";
  return e;
}

TEST(Subscription, TryNextReturnsQueuedEventsInOrderThenNull) {
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 8);
  EXPECT_EQ(sub.chat_id(), 1);
  EXPECT_EQ(sub.try_next(), nullptr);
  sub.push(make_event(1));
  sub.push(make_event(2));
  EXPECT_EQ(sub.last_seq(), 2);
  auto a = sub.try_next();
  auto b = sub.try_next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->seq, 1);
  EXPECT_EQ(b->seq, 2);
  EXPECT_EQ(sub.try_next(), nullptr);
}

TEST(Subscription, NextReturnsQueuedEventWithoutWaiting) {
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 8);
  sub.push(make_event(5));
  auto ev = run_awaitable(io, sub.next());
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->seq, 5);
}

TEST(Subscription, NextWaitsForAPushFromAnotherThread) {
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 8);
  EventPtr got;
  bool done = false;
  asio::co_spawn(io, sub.next(), [&](std::exception_ptr, EventPtr ev) {
    got = std::move(ev);
    done = true;
  });
  io.restart();
  io.poll();
  EXPECT_FALSE(done);
  std::thread pusher([&] { sub.push(make_event(3)); });
  pusher.join();
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->seq, 3);
}

TEST(Subscription, NextReturnsNullWhenClosedWhileWaiting) {
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 8);
  bool done = false;
  EventPtr got = make_event(99);
  asio::co_spawn(io, sub.next(), [&](std::exception_ptr, EventPtr ev) {
    got = std::move(ev);
    done = true;
  });
  io.restart();
  io.poll();
  ASSERT_FALSE(done);
  sub.close();
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_EQ(got, nullptr);
  EXPECT_TRUE(sub.closed());
  EXPECT_FALSE(sub.overflowed());
}

TEST(Subscription, NextReturnsNullAfterClose) {
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 8);
  sub.push(make_event(1));
  sub.close();
  sub.close();  // idempotent
  EXPECT_EQ(run_awaitable(io, sub.next()), nullptr);
  EXPECT_EQ(run_awaitable(io, sub.next()), nullptr);
  EXPECT_EQ(sub.try_next(), nullptr);
  // Pushing into a closed subscription is ignored.
  sub.push(make_event(2));
  EXPECT_EQ(sub.try_next(), nullptr);
  EXPECT_EQ(sub.last_seq(), 1);
  EXPECT_FALSE(sub.overflowed());
}

TEST(Subscription, NextReturnsNullWhenTheAwaitingCoroutineIsCancelled) {
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 8);
  asio::cancellation_signal signal;
  bool done = false;
  EventPtr got = make_event(99);
  asio::co_spawn(io, sub.next(),
                 asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, EventPtr ev) {
                   EXPECT_FALSE(e);
                   got = std::move(ev);
                   done = true;
                 }));
  io.restart();
  io.poll();
  ASSERT_FALSE(done);
  signal.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_EQ(got, nullptr);
  // Cancelling one wait does not close the subscription.
  EXPECT_FALSE(sub.closed());
  sub.push(make_event(4));
  auto ev = sub.try_next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->seq, 4);
}

TEST(Subscription, CancelledWaitDoesNotMakeTheNextPushOverflow) {
  // Regression: a cancelled channel receive left the queue refusing every push, so the
  // subscription closed as "overflowed" on its next event (SSE cancels next() on every
  // keep-alive tick).
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 8);
  for (int round = 0; round < 3; ++round) {
    asio::cancellation_signal signal;
    bool done = false;
    asio::co_spawn(io, sub.next(),
                   asio::bind_cancellation_slot(signal.slot(),
                                                [&](std::exception_ptr, EventPtr ev) {
                                                  EXPECT_EQ(ev, nullptr);
                                                  done = true;
                                                }));
    io.restart();
    io.poll();
    ASSERT_FALSE(done);
    signal.emit(asio::cancellation_type::terminal);
    ASSERT_TRUE(run_until(io, [&] { return done; }));
    sub.push(make_event(round + 1));
    ASSERT_FALSE(sub.overflowed()) << "round " << round;
    ASSERT_FALSE(sub.closed());
    auto ev = run_awaitable(io, sub.next());
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->seq, round + 1);
  }
}

TEST(Subscription, EventRacingATimerIsNeverLost) {
  // next() || timer, with the event and the timer completing in the same turn in both orders:
  // whichever wins, every pushed event is delivered exactly once.
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  auto sub = std::make_shared<Subscription>(io.get_executor(), 1, 1024);
  std::vector<std::int64_t> got;
  int timer_won = 0;
  constexpr int kRounds = 40;
  for (int round = 1; round <= kRounds; ++round) {
    bool done = false;
    asio::steady_timer t(io, std::chrono::hours(1));
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto r = co_await (sub->next() || t.async_wait(asio::as_tuple(asio::use_awaitable)));
          if (r.index() == 0) {
            if (auto ev = std::get<0>(r)) got.push_back(ev->seq);
          } else {
            ++timer_won;
          }
          done = true;
        },
        asio::detached);
    io.restart();
    io.poll();  // both branches are waiting
    ASSERT_FALSE(done);
    if (round % 2) {
      t.cancel();  // the timer completes first...
      sub->push(make_event(round));
    } else {
      sub->push(make_event(round));  // ...or the event does
      t.cancel();
    }
    ASSERT_TRUE(run_until(io, [&] { return done; }));
    while (auto ev = sub->try_next()) got.push_back(ev->seq);
  }
  // When the timer completes first it wins; when the event is pushed first either branch may win
  // (the wake-up is posted to the subscriber's executor) — what matters is below: nothing lost,
  // nothing twice, in order.
  EXPECT_GE(timer_won, kRounds / 2);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kRounds));
  for (int i = 0; i < kRounds; ++i) EXPECT_EQ(got[i], i + 1);
  EXPECT_FALSE(sub->overflowed());
  // The stashed event is also what a following next() returns first.
  bool done = false;
  asio::steady_timer t(io, std::chrono::hours(1));
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await (sub->next() || t.async_wait(asio::as_tuple(asio::use_awaitable)));
        EXPECT_EQ(r.index(), 1u);
        done = true;
      },
      asio::detached);
  io.restart();
  io.poll();
  t.cancel();
  sub->push(make_event(100));
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  auto ev = run_awaitable(io, sub->next());
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->seq, 100);
}

TEST(Subscription, NextUntilTimesOutWhenIdleAndOtherwiseActsAsNext) {
  using clock = std::chrono::steady_clock;
  asio::io_context io;
  auto sub = std::make_shared<Subscription>(io.get_executor(), 1, 64);
  // Idle: times out at the deadline, not before.
  const auto t0 = clock::now();
  auto idle = run_awaitable(io, sub->next_until(t0 + std::chrono::milliseconds(30)));
  EXPECT_TRUE(idle.timed_out);
  EXPECT_EQ(idle.event, nullptr);
  EXPECT_GE(clock::now() - t0, std::chrono::milliseconds(30));
  // Queued: returned at once, even with a deadline already past.
  sub->push(make_event(1));
  auto queued = run_awaitable(io, sub->next_until(clock::now() - std::chrono::seconds(1)));
  ASSERT_TRUE(queued.event);
  EXPECT_EQ(queued.event->seq, 1);
  EXPECT_FALSE(queued.timed_out);
  // A push from another thread wakes a waiter long before its deadline.
  Subscription::Next got;
  bool done = false;
  asio::co_spawn(io, sub->next_until(clock::now() + std::chrono::hours(1)),
                 [&](std::exception_ptr, Subscription::Next n) {
                   got = std::move(n);
                   done = true;
                 });
  io.restart();
  io.poll();
  ASSERT_FALSE(done);
  std::thread pusher([&] { sub->push(make_event(2)); });
  pusher.join();
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  ASSERT_TRUE(got.event);
  EXPECT_EQ(got.event->seq, 2);
  // A wake-up left over from an earlier wait does not end the next wait early.
  sub->push(make_event(3));  // no waiter: nothing posted
  ASSERT_TRUE(sub->try_next());
  const auto t1 = clock::now();
  auto again = run_awaitable(io, sub->next_until(t1 + std::chrono::milliseconds(20)));
  EXPECT_TRUE(again.timed_out);
  EXPECT_GE(clock::now() - t1, std::chrono::milliseconds(20));
  // Closed while waiting: no event, not a timeout.
  Subscription::Next closed;
  done = false;
  asio::co_spawn(io, sub->next_until(clock::now() + std::chrono::hours(1)),
                 [&](std::exception_ptr, Subscription::Next n) {
                   closed = std::move(n);
                   done = true;
                 });
  io.restart();
  io.poll();
  sub->close();
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_EQ(closed.event, nullptr);
  EXPECT_FALSE(closed.timed_out);
}

TEST(Subscription, FullQueueOverflowsAndCloses) {
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 2);
  sub.push(make_event(1));
  sub.push(make_event(2));
  EXPECT_FALSE(sub.overflowed());
  sub.push(make_event(3));
  EXPECT_TRUE(sub.overflowed());
  EXPECT_TRUE(sub.closed());
  EXPECT_EQ(sub.last_seq(), 2);
  EXPECT_EQ(run_awaitable(io, sub.next()), nullptr);
}

EventPtr make_run(std::int64_t seq, std::uint32_t count) {
  auto e = std::make_shared<Event>();
  e->chat_id = 1;
  e->seq = seq;
  e->type = "token";
  e->count = count;
  return e;
}

TEST(Subscription, CapacityCountsTheEventsOfRuns) {
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 8);
  auto run = make_run(1, 5);  // 1..5
  sub.push(run);
  EXPECT_EQ(sub.last_seq(), 5);
  sub.push_batch({make_event(6), make_event(7)});
  EXPECT_EQ(sub.last_seq(), 7);
  ASSERT_EQ(sub.try_next(), run);  // 5 of 8 freed
  auto more = make_run(8, 6);  // 2 + 6 = 8: fits exactly
  sub.push(more);
  EXPECT_FALSE(sub.closed());
  EXPECT_EQ(sub.last_seq(), 13);
  sub.push(make_event(14));  // 9 > 8
  EXPECT_TRUE(sub.closed());
  EXPECT_TRUE(sub.overflowed());
}

TEST(Subscription, ABatchWhoseRunsDoNotFitIsRefusedWhole) {
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 8);
  sub.push(make_event(1));
  auto run = make_run(3, 7);  // 1 + 1 + 7 = 9 > 8
  sub.push_batch({make_event(2), run});
  EXPECT_TRUE(sub.overflowed());
  EXPECT_EQ(sub.try_next(), nullptr);  // closed: nothing of it was queued, the rest dropped
}

TEST(Subscription, DestroyedWhileAWaiterIsPendingCompletesIt) {
  asio::io_context io;
  auto sub = std::make_shared<Subscription>(io.get_executor(), 1, 4);
  bool done = false;
  asio::co_spawn(
      io,
      [](std::shared_ptr<Subscription> s) -> asio::awaitable<EventPtr> {
        co_return co_await s->next();
      }(sub),
      [&](std::exception_ptr, EventPtr ev) {
        EXPECT_EQ(ev, nullptr);
        done = true;
      });
  io.restart();
  io.poll();
  ASSERT_FALSE(done);
  sub->close();
  sub.reset();
  ASSERT_TRUE(run_until(io, [&] { return done; }));
}

}  // namespace
}  // namespace troupe::sync::testing

namespace troupe::sync::testing {
namespace {

TEST(Subscription, QueueGrowsToItsCapacityKeepsOrderAcrossTheWrapAndOverflowsBeyond) {
  asio::io_context io;
  Subscription sub(io.get_executor(), 1, 100);
  std::int64_t next_in = 1, next_out = 1;
  // Interleave pushes and pops so that the ring wraps many times while it grows.
  for (int round = 0; round < 45; ++round) {  // two more queued per round: 90 at the end
    for (int i = 0; i < 7; ++i) sub.push(make_event(next_in++));
    for (int i = 0; i < 5; ++i) {
      auto ev = sub.try_next();
      ASSERT_TRUE(ev);
      ASSERT_EQ(ev->seq, next_out++);
    }
  }
  EXPECT_FALSE(sub.overflowed());
  while (auto ev = sub.try_next()) ASSERT_EQ(ev->seq, next_out++);
  EXPECT_EQ(next_out, next_in);
  for (int i = 0; i < 100; ++i) sub.push(make_event(next_in++));
  EXPECT_FALSE(sub.overflowed());
  sub.push(make_event(next_in++));
  EXPECT_TRUE(sub.overflowed());
  EXPECT_TRUE(sub.closed());
  EXPECT_EQ(sub.try_next(), nullptr) << "a closed subscription drops what was queued";
}

TEST(Subscription, ManyPublishersOneConsumerGetsEveryEventOnce) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  Subscription sub(io.get_executor(), 1, 1 << 16);
  constexpr int kThreads = 4, kEach = 5000;
  std::vector<std::thread> pubs;
  for (int t = 0; t < kThreads; ++t) {
    pubs.emplace_back([&sub, t] {
      for (int i = 0; i < kEach; ++i) sub.push(make_event(t * kEach + i + 1));
    });
  }
  std::vector<int> seen(kThreads * kEach + 1, 0);
  int got = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        while (got < kThreads * kEach) {
          auto ev = co_await sub.next();
          if (!ev) break;
          ++seen[static_cast<std::size_t>(ev->seq)];
          ++got;
        }
        guard.reset();
      },
      asio::detached);
  std::thread runner([&] { io.run_for(std::chrono::seconds(30)); });
  for (auto& p : pubs) p.join();
  runner.join();
  EXPECT_EQ(got, kThreads * kEach);
  for (int i = 1; i <= kThreads * kEach; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)], 1) << i;
}

}  // namespace
}  // namespace troupe::sync::testing
