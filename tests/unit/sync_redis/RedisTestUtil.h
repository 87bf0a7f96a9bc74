// Shared pieces of the Redis tests: a background I/O thread, polling waits from the test thread,
// bus options with short intervals, and event collection from a subscription.
// Thread-safety: IoThread runs its context on one thread; the helpers are used from the test thread.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "../sync/SyncTestUtil.h"
#include "RedisServer.h"
#include "sync/redis/RedisBus.h"

namespace troupe::sync::redis::testing {

class IoThread {
 public:
  IoThread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }
  boost::asio::any_io_executor ex() { return io_.get_executor(); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

inline bool wait_for(const std::function<bool()>& pred,
                     std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

inline RedisConnectionOptions fast_connection(int port) {
  RedisConnectionOptions o;
  o.endpoint.port = port;
  o.connect_timeout = std::chrono::milliseconds(500);
  o.command_timeout = std::chrono::milliseconds(2000);
  o.backoff_initial = std::chrono::milliseconds(20);
  o.backoff_max = std::chrono::milliseconds(200);
  return o;
}

inline RedisBusOptions fast_bus(int port) {
  RedisBusOptions o;
  o.connection = fast_connection(port);
  o.seq_block = 1000;
  o.stream_maxlen = 1000;
  o.replay_limit = 1000;
  o.sweep_interval = std::chrono::milliseconds(50);
  return o;
}

// Takes queued events from `sub` until `count` arrived or the time limit passed.
inline std::vector<EventPtr> collect(Subscription& sub, std::size_t count,
                                     std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  std::vector<EventPtr> out;
  (void)wait_for(
      [&] {
        while (auto ev = sub.try_next()) out.push_back(std::move(ev));
        return out.size() >= count;
      },
      limit);
  return out;
}

inline std::vector<std::int64_t> seqs_of(const std::vector<EventPtr>& evs) {
  std::vector<std::int64_t> out;
  for (auto& e : evs) out.push_back(e->seq);
  return out;
}

inline bool strictly_increasing(const std::vector<std::int64_t>& v) {
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] <= v[i - 1]) return false;
  }
  return true;
}

// Starts a server or fails the calling test with the reason.
#define TROUPE_START_REDIS(server)                                       \
  do {                                                                   \
    ASSERT_EQ((server).missing(), "");                                   \
    ASSERT_TRUE((server).start()) << "redis-server did not start on port " << (server).port(); \
  } while (0)

}  // namespace troupe::sync::redis::testing
