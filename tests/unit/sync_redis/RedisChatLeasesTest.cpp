#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>

#include "RedisTestUtil.h"
#include "core/TaskRegistry.h"
#include "sync/redis/RedisChatLeases.h"

namespace troupe::sync::redis::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// Two "nodes" (two connections, two lease sets) on one real redis-server.
class RedisChatLeasesTest : public ::testing::Test {
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
    a_.reset();
    b_.reset();
    for (auto& c : {conn_a_, conn_b_}) {
      if (!c) continue;
      c->stop();
      EXPECT_TRUE(c->wait_stopped(5s));
    }
  }
  void make(std::chrono::milliseconds ttl) {
    RedisChatLeasesOptions o;
    o.ttl = ttl;
    o.owner = "node-a";
    a_ = std::make_unique<RedisChatLeases>(io_.ex(), registry_, conn_a_, o);
    o.owner = "node-b";
    b_ = std::make_unique<RedisChatLeases>(io_.ex(), registry_, conn_b_, o);
  }

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
  bool held(RedisChatLeases& l, std::int64_t chat) {
    auto r = run(l.held(chat));
    EXPECT_TRUE(r.ok());
    return r.ok() && *r;
  }

  RedisServer server_;
  TaskRegistry registry_;
  IoThread io_;
  std::shared_ptr<RedisConnection> conn_a_, conn_b_;
  std::unique_ptr<RedisChatLeases> a_, b_;
};

TEST_F(RedisChatLeasesTest, OneHolderPerChatAcrossNodes) {
  make(10s);
  auto la = run(a_->acquire(1));
  ASSERT_TRUE(la.ok()) << la.error().message;
  EXPECT_GT((*la)->fence(), 0);
  EXPECT_EQ(a_->held_count(), 1);
  auto lb = run(b_->acquire(1));
  ASSERT_FALSE(lb.ok());
  EXPECT_EQ(lb.error().code, Errc::conflict);
  EXPECT_TRUE(held(*b_, 1));
  EXPECT_FALSE(held(*b_, 2));
  auto other = run(b_->acquire(2));  // another chat is free
  ASSERT_TRUE(other.ok());

  ASSERT_TRUE(run((*la)->release()).ok());
  EXPECT_EQ(a_->held_count(), 0);
  EXPECT_FALSE(held(*b_, 1));
  auto again = run(b_->acquire(1));
  ASSERT_TRUE(again.ok());
  EXPECT_GT((*again)->fence(), (*la)->fence());
  EXPECT_TRUE(run((*la)->release()).ok());  // idempotent, and leaves b's lease alone
  EXPECT_TRUE(held(*a_, 1));
  ASSERT_TRUE(run((*again)->release()).ok());
  ASSERT_TRUE(run((*other)->release()).ok());
  EXPECT_EQ(b_->held_count(), 0);
}

TEST_F(RedisChatLeasesTest, KeptLeaseOutlivesItsTtlAndReleasedLeaseIsGone) {
  make(300ms);
  auto la = run(a_->acquire(7));
  ASSERT_TRUE(la.ok());
  std::atomic<int> lost{0};
  (*la)->keep([&] { ++lost; });
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(150ms);
    auto lb = run(b_->acquire(7));
    EXPECT_FALSE(lb.ok()) << "after " << (i + 1) * 150 << " ms";
  }
  ASSERT_TRUE(run((*la)->release()).ok());
  EXPECT_EQ(server_.query({"EXISTS", a_->key(7)}), "0");
  EXPECT_EQ(lost.load(), 0);
  EXPECT_EQ(a_->losses(), 0u);
  auto lb = run(b_->acquire(7));
  ASSERT_TRUE(lb.ok());
  ASSERT_TRUE(run((*lb)->release()).ok());
}

TEST_F(RedisChatLeasesTest, LossIsReportedOnce) {
  make(300ms);
  auto la = run(a_->acquire(9));
  ASSERT_TRUE(la.ok());
  std::atomic<int> lost{0};
  (*la)->keep([&] { ++lost; });
  server_.query({"SET", a_->key(9), "someone-else"});  // taken over (e.g. after a long pause)
  ASSERT_TRUE(wait_for([&] { return lost.load() > 0; }, 3s));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(lost.load(), 1);
  EXPECT_EQ(a_->losses(), 1u);
  EXPECT_EQ(a_->held_count(), 0);
  ASSERT_TRUE(run((*la)->release()).ok());
  EXPECT_EQ(server_.query({"GET", a_->key(9)}), "someone-else");
}

TEST_F(RedisChatLeasesTest, DeadHolderFreesTheChatAfterTheTtl) {
  make(200ms);
  auto la = run(a_->acquire(11));
  ASSERT_TRUE(la.ok());
  // Node A "dies": never renews, never releases.
  EXPECT_FALSE(run(b_->acquire(11)).ok());
  ASSERT_TRUE(wait_for([&] { return !held(*b_, 11); }, 3s));
  auto lb = run(b_->acquire(11));
  ASSERT_TRUE(lb.ok());
  EXPECT_GT((*lb)->fence(), (*la)->fence());
  ASSERT_TRUE(run((*lb)->release()).ok());
}

TEST_F(RedisChatLeasesTest, DetachedReleaseFreesTheChat) {
  make(10s);
  auto la = run(a_->acquire(12));
  ASSERT_TRUE(la.ok());
  (*la)->keep([] {});
  (*la)->release_detached();
  ASSERT_TRUE(wait_for([&] { return !held(*b_, 12); }, 3s));
  EXPECT_EQ(a_->held_count(), 0);
}

TEST_F(RedisChatLeasesTest, UnreachableRedisGivesAProvisionalLeaseTakenWhenRedisIsBack) {
  make(300ms);
  server_.kill();
  ASSERT_TRUE(wait_for([&] { return !conn_a_->connected(); }));
  auto h = run(a_->held(3));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, Errc::unavailable);
  auto r = run(a_->acquire(3));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE((*r)->confirmed());
  std::atomic<int> lost{0};
  (*r)->keep([&] { ++lost; });
  ASSERT_TRUE(server_.start());
  ASSERT_TRUE(wait_for([&] { return (*r)->confirmed(); }, 5s));
  EXPECT_TRUE(held(*b_, 3));
  EXPECT_FALSE(run(b_->acquire(3)).ok());
  std::this_thread::sleep_for(400ms);  // longer than the TTL: renewed since
  EXPECT_TRUE(held(*b_, 3));
  EXPECT_EQ(lost.load(), 0);
  ASSERT_TRUE(run((*r)->release()).ok());
  EXPECT_FALSE(held(*b_, 3));
}

TEST_F(RedisChatLeasesTest, ProvisionalLeaseIsLostWhenAnotherNodeGotTheChatFirst) {
  make(300ms);
  server_.kill();
  ASSERT_TRUE(wait_for([&] { return !conn_a_->connected(); }));
  auto r = run(a_->acquire(4));
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE((*r)->confirmed());
  std::atomic<int> lost{0};
  ASSERT_TRUE(server_.start());
  server_.query({"SET", a_->key(4), "someone-else", "PX", "5000"});
  (*r)->keep([&] { ++lost; });
  ASSERT_TRUE(wait_for([&] { return lost.load() > 0; }, 5s));
  EXPECT_FALSE((*r)->confirmed());
  EXPECT_EQ(a_->losses(), 1u);
  EXPECT_EQ(a_->held_count(), 0);
  ASSERT_TRUE(run((*r)->release()).ok());
  EXPECT_EQ(server_.query({"GET", a_->key(4)}), "someone-else");
}

}  // namespace
}  // namespace troupe::sync::redis::testing
