#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include "RedisTestUtil.h"
#include "core/TaskRegistry.h"
#include "sync/redis/RedisLock.h"

namespace troupe::sync::redis::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

class RedisLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TROUPE_START_REDIS(server_);
    conn_a_ = RedisConnection::create(io_.ex(), registry_, fast_connection(server_.port()), "a");
    conn_b_ = RedisConnection::create(io_.ex(), registry_, fast_connection(server_.port()), "b");
    conn_a_->start();
    conn_b_->start();
    ASSERT_TRUE(wait_for([&] { return conn_a_->connected() && conn_b_->connected(); }));
  }
  void TearDown() override {
    for (auto& c : {conn_a_, conn_b_}) {
      if (!c) continue;
      c->stop();
      EXPECT_TRUE(c->wait_stopped(5s));
    }
  }

  // Runs `a` on the I/O thread and waits for it (awaitables of Result/Status).
  template <class T>
  T run(asio::awaitable<T> a) {
    std::mutex mu;
    std::optional<T> out;
    asio::co_spawn(io_.io(), wrap(std::move(a)), [&](std::exception_ptr, std::optional<T> r) {
      std::lock_guard lock(mu);
      out = std::move(r);
    });
    EXPECT_TRUE(wait_for([&] {
      std::lock_guard lock(mu);
      return out.has_value();
    }));
    std::lock_guard lock(mu);
    return out ? std::move(*out) : T(make_error(Errc::internal, "did not finish"));
  }
  template <class T>
  static asio::awaitable<std::optional<T>> wrap(asio::awaitable<T> a) {
    co_return co_await std::move(a);
  }
  bool acquire(RedisLock& l) {
    auto r = run(l.try_acquire());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() && *r;
  }

  RedisServer server_;
  TaskRegistry registry_;
  IoThread io_;
  std::shared_ptr<RedisConnection> conn_a_, conn_b_;
};

TEST_F(RedisLockTest, OnlyOneHolderAndFencingTokensIncrease) {
  RedisLock a(conn_a_, "troupe:{chat:1}:generation", "node-a", 10s);
  RedisLock b(conn_b_, "troupe:{chat:1}:generation", "node-b", 10s);
  ASSERT_TRUE(acquire(a));
  EXPECT_TRUE(a.held());
  EXPECT_GT(a.fencing_token(), 0);
  EXPECT_EQ(server_.query({"GET", a.key()}), a.token());
  EXPECT_FALSE(acquire(b));
  EXPECT_FALSE(b.held());
  ASSERT_TRUE(run(a.release()).ok());
  EXPECT_FALSE(a.held());
  EXPECT_EQ(server_.query({"EXISTS", a.key()}), "0");
  ASSERT_TRUE(acquire(b));
  EXPECT_GT(b.fencing_token(), a.fencing_token());
  // A different key is a different lock.
  RedisLock other(conn_a_, "troupe:{chat:2}:generation", "node-a", 10s);
  EXPECT_TRUE(acquire(other));
}

TEST_F(RedisLockTest, ExpiresAndALateHolderCannotRenewOrRelease) {
  RedisLock a(conn_a_, "troupe:{chat:3}:generation", "node-a", 150ms);
  RedisLock b(conn_b_, "troupe:{chat:3}:generation", "node-b", 10s);
  ASSERT_TRUE(acquire(a));
  EXPECT_FALSE(acquire(b));
  ASSERT_TRUE(wait_for([&] { return server_.query({"EXISTS", a.key()}) == "0"; }, 3s));
  ASSERT_TRUE(acquire(b));
  EXPECT_GT(b.fencing_token(), a.fencing_token());
  // The expired holder learns it lost the lock and leaves the new holder alone.
  auto renewed = run(a.renew());
  ASSERT_FALSE(renewed.ok());
  EXPECT_EQ(renewed.error().code, Errc::conflict);
  EXPECT_FALSE(a.held());
  ASSERT_TRUE(run(a.release()).ok());
  EXPECT_EQ(server_.query({"GET", b.key()}), b.token());
}

TEST_F(RedisLockTest, RenewalKeepsTheLockWhileRunning) {
  RedisLock a(conn_a_, "troupe:{chat:4}:generation", "node-a", 300ms);
  RedisLock b(conn_b_, "troupe:{chat:4}:generation", "node-b", 10s);
  ASSERT_TRUE(acquire(a));
  ASSERT_TRUE(run(a.renew()).ok());
  // keep_alive renews every 100 ms until cancelled.
  asio::cancellation_signal stop;
  std::atomic<bool> done{false};
  std::atomic<bool> ok{false};
  asio::post(io_.io(), [&] {
    asio::co_spawn(io_.io(), a.keep_alive(100ms),
                   asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr, Status s) {
                     ok = s.ok();
                     done = true;
                   }));
  });
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(acquire(b)) << "after " << (i + 1) * 100 << " ms";
  }
  asio::post(io_.io(), [&] { stop.emit(asio::cancellation_type::terminal); });
  ASSERT_TRUE(wait_for([&] { return done.load(); }));
  EXPECT_TRUE(ok.load());
  EXPECT_TRUE(a.held());
  // Without renewal it runs out.
  ASSERT_TRUE(wait_for([&] { return acquire(b); }, 3s));
}

TEST_F(RedisLockTest, KeepAliveReportsALostLock) {
  RedisLock a(conn_a_, "troupe:{chat:5}:generation", "node-a", 10s);
  ASSERT_TRUE(acquire(a));
  server_.query({"SET", a.key(), "someone-else"});  // e.g. expired during a long pause, retaken
  auto s = run(a.keep_alive(20ms));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::conflict);
  EXPECT_FALSE(a.held());
  ASSERT_TRUE(run(a.release()).ok());
  EXPECT_EQ(server_.query({"GET", a.key()}), "someone-else");
}

TEST_F(RedisLockTest, AcquireFailsCleanlyWithoutRedis) {
  RedisLock a(conn_a_, "troupe:{chat:6}:generation", "node-a", 10s);
  server_.kill();
  ASSERT_TRUE(wait_for([&] { return !conn_a_->connected(); }));
  auto r = run(a.try_acquire());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_FALSE(a.held());
}

}  // namespace
}  // namespace troupe::sync::redis::testing
