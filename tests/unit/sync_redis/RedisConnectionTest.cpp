#include <gtest/gtest.h>

#include "RedisTestUtil.h"
#include "core/TaskRegistry.h"
#include "sync/redis/RedisConnection.h"

namespace troupe::sync::redis::testing {
namespace {

using namespace std::chrono_literals;

// co_spawn needs a default-constructible result: wrap it in an optional.
boost::asio::awaitable<std::optional<Result<RedisReply>>> wrap(
    boost::asio::awaitable<Result<RedisReply>> a) {
  co_return co_await std::move(a);
}

Result<RedisReply> run(IoThread& io, boost::asio::awaitable<Result<RedisReply>> a) {
  std::optional<Result<RedisReply>> out;
  std::mutex mu;
  boost::asio::co_spawn(io.io(), wrap(std::move(a)),
                        [&](std::exception_ptr, std::optional<Result<RedisReply>> r) {
                          std::lock_guard lock(mu);
                          if (r) out.emplace(std::move(*r));
                        });
  EXPECT_TRUE(wait_for([&] {
    std::lock_guard lock(mu);
    return out.has_value();
  }));
  std::lock_guard lock(mu);
  if (!out) return make_error(Errc::internal, "no result");
  return std::move(*out);
}

TEST(RedisEndpoint, ParsesUrls) {
  auto a = RedisEndpoint::parse("redis://10.0.0.5:6380");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "10.0.0.5");
  EXPECT_EQ(a->port, 6380);
  auto b = RedisEndpoint::parse("redis://cache/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "cache");
  EXPECT_EQ(b->port, 6379);
  EXPECT_FALSE(RedisEndpoint::parse("http://x:1").ok());
  EXPECT_FALSE(RedisEndpoint::parse("redis://x:0").ok());
  EXPECT_FALSE(RedisEndpoint::parse("redis://x:99999").ok());
  EXPECT_FALSE(RedisEndpoint::parse("redis://:6379").ok());
}

TEST(RedisConnection, CommandsRepliesErrorsAndTimeouts) {
  RedisServer server;
  TROUPE_START_REDIS(server);
  TaskRegistry registry;
  IoThread io;
  auto conn = RedisConnection::create(io.ex(), registry, fast_connection(server.port()), "test");
  conn->start();
  ASSERT_TRUE(wait_for([&] { return conn->connected(); }));
  auto set = run(io, conn->command({"SET", "k", "v", "NX", "PX", "30000"}));
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->type, RedisReply::Type::status);
  EXPECT_EQ(set->str, "OK");
  auto again = run(io, conn->command({"SET", "k", "w", "NX", "PX", "30000"}));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->is_nil());
  auto get = run(io, conn->command({"GET", "k"}));
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->str, "v");
  auto incr = run(io, conn->command({"INCR", "n"}));
  ASSERT_TRUE(incr.ok());
  EXPECT_EQ(incr->integer, 1);
  auto bad = run(io, conn->command({"INCR", "k"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::upstream);
  // A reply later than the deadline is a timeout; the connection stays usable.
  auto slow = run(io, conn->command({"DEBUG", "SLEEP", "0.5"}, 100ms));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, Errc::timeout);
  auto after = run(io, conn->command({"GET", "k"}));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->str, "v");
  // Blocking form, from a non-I/O thread.
  auto blocking = conn->call_blocking({"GET", "k"}, 2s);
  ASSERT_TRUE(blocking.ok());
  EXPECT_EQ(blocking->str, "v");
  EXPECT_EQ(registry.live(), 1u);  // the connect loop
  conn->stop();
  ASSERT_TRUE(conn->wait_stopped(5s));
  EXPECT_EQ(conn->state(), RedisState::stopped);
  EXPECT_EQ(registry.live(), 0u);
}

TEST(RedisConnection, LargeValuesAndPipelinedCommandsKeepTheirOrder) {
  // A value larger than the socket buffers takes several write and read readiness rounds.
  RedisServer server;
  TROUPE_START_REDIS(server);
  TaskRegistry registry;
  IoThread io;
  auto conn = RedisConnection::create(io.ex(), registry, fast_connection(server.port()), "test");
  conn->start();
  ASSERT_TRUE(wait_for([&] { return conn->connected(); }));
  std::string big(8 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  auto set = run(io, conn->command({"SET", "big", big}, 10s));
  ASSERT_TRUE(set.ok()) << set.error().message;
  auto get = run(io, conn->command({"GET", "big"}, 10s));
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->str.size(), big.size());
  EXPECT_TRUE(get->str == big);
  // Fire-and-forget sends from one thread run in call order.
  std::mutex mu;
  std::vector<std::int64_t> order;
  for (int i = 0; i < 500; ++i) {
    conn->send({"RPUSH", "list", std::to_string(i)}, [&](Result<RedisReply> r) {
      std::lock_guard lock(mu);
      order.push_back(r.ok() ? r->integer : -1);
    });
  }
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard lock(mu);
    return order.size() == 500;
  }));
  for (int i = 0; i < 500; ++i) EXPECT_EQ(order[i], i + 1);
  auto range = run(io, conn->command({"LRANGE", "list", "0", "-1"}));
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->elements.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(range->elements[i].str, std::to_string(i));
  conn->stop();
  ASSERT_TRUE(conn->wait_stopped(5s));
}

TEST(RedisConnection, UnreachableServerIsDegradedAndFailsFast) {
  RedisServer server;  // never started: nothing listens on its port
  ASSERT_EQ(server.missing(), "");
  TaskRegistry registry;
  IoThread io;
  auto conn = RedisConnection::create(io.ex(), registry, fast_connection(server.port()), "test");
  conn->start();
  ASSERT_TRUE(wait_for([&] { return conn->state() == RedisState::degraded; }));
  auto r = run(io, conn->command({"PING"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  // Comes up once the server does.
  TROUPE_START_REDIS(server);
  ASSERT_TRUE(wait_for([&] { return conn->connected(); }));
  auto ok = run(io, conn->command({"PING"}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->str, "PONG");
  conn->stop();
  ASSERT_TRUE(conn->wait_stopped(5s));
}

TEST(RedisConnection, ReconnectsAndResubscribesAfterRestart) {
  RedisServer server;
  TROUPE_START_REDIS(server);
  TaskRegistry registry;
  IoThread io;
  auto conn = RedisConnection::create(io.ex(), registry, fast_connection(server.port()), "test");
  std::mutex mu;
  std::vector<std::string> got;
  std::atomic<int> connects{0};
  conn->set_message_handler([&](const std::string& ch, const std::string& payload) {
    std::lock_guard lock(mu);
    got.push_back(ch + "=" + payload);
  });
  conn->set_connect_handler([&] { ++connects; });
  std::atomic<bool> active{false};
  conn->subscribe("c1", [&] { active = true; });
  conn->start();
  ASSERT_TRUE(wait_for([&] { return active.load() && connects.load() == 1; }));
  EXPECT_EQ(server.query({"PUBLISH", "c1", "a"}), "1");
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard lock(mu);
    return got.size() == 1;
  }));
  server.kill();
  ASSERT_TRUE(wait_for([&] { return conn->state() == RedisState::degraded; }));
  TROUPE_START_REDIS(server);
  ASSERT_TRUE(wait_for([&] { return connects.load() == 2; }));
  EXPECT_TRUE(conn->connected());
  EXPECT_GE(conn->reconnects(), 1u);
  EXPECT_EQ(server.query({"PUBLISH", "c1", "b"}), "1");
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard lock(mu);
    return got.size() == 2;
  }));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(got[0], "c1=a");
    EXPECT_EQ(got[1], "c1=b");
  }
  // Unsubscribe then subscribe again right away: the channel stays subscribed.
  conn->unsubscribe("c1");
  std::atomic<bool> again{false};
  conn->subscribe("c1", [&] { again = true; });
  ASSERT_TRUE(wait_for([&] { return again.load(); }));
  EXPECT_EQ(server.query({"PUBSUB", "NUMSUB", "c1"}), "1");
  conn->unsubscribe("c1");
  ASSERT_TRUE(wait_for([&] { return server.query({"PUBSUB", "NUMSUB", "c1"}) == "0"; }));
  conn->stop();
  ASSERT_TRUE(conn->wait_stopped(5s));
}

}  // namespace
}  // namespace troupe::sync::redis::testing
