// Helpers for the event-bus tests: an in-memory SeqAllocator and an io_context driver.
// Thread-safety: FakeSeqAllocator is safe from any thread; the driver is single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/EventBus.h"

namespace troupe::sync::testing {

// Keeps one high-water mark per chat, as the store does. `fail` makes every call fail.
class FakeSeqAllocator final : public SeqAllocator {
 public:
  Result<std::int64_t> reserve(std::int64_t chat_id, std::int64_t count) override {
    std::lock_guard lock(mu_);
    calls_.push_back({chat_id, count});
    if (fail_) return make_error(Errc::unavailable, "allocator down");
    high_[chat_id] += count;
    return high_[chat_id];
  }
  void set_high(std::int64_t chat_id, std::int64_t high) {
    std::lock_guard lock(mu_);
    high_[chat_id] = high;
  }
  std::int64_t high(std::int64_t chat_id) {
    std::lock_guard lock(mu_);
    return high_[chat_id];
  }
  void set_fail(bool f) {
    std::lock_guard lock(mu_);
    fail_ = f;
  }
  std::size_t calls(std::int64_t chat_id) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (auto& c : calls_) n += c.first == chat_id ? 1 : 0;
    return n;
  }

 private:
  std::mutex mu_;
  std::map<std::int64_t, std::int64_t> high_;
  std::vector<std::pair<std::int64_t, std::int64_t>> calls_;
  bool fail_ = false;
};

// Every item already queued for `sub`, in order, as queued (a run is one item: see Event).
inline std::vector<EventPtr> drain_items(Subscription& sub) {
  std::vector<EventPtr> out;
  while (auto ev = sub.try_next()) out.push_back(std::move(ev));
  return out;
}

// The events of `items` one by one: a run becomes its events, each as a single Event.
inline std::vector<EventPtr> expand(const std::vector<EventPtr>& items) {
  std::vector<EventPtr> out;
  for (const auto& item : items) {
    if (item->count == 1) {
      out.push_back(item);
      continue;
    }
    item->parts([&](std::int64_t seq, std::string_view json) {
      auto e = std::make_shared<Event>(*item);
      e->seq = seq;
      e->json = std::string(json);
      e->count = 1;
      out.push_back(std::move(e));
    });
  }
  return out;
}

// Every event already queued for `sub`, in order, one by one (runs expanded).
inline std::vector<EventPtr> drain(Subscription& sub) { return expand(drain_items(sub)); }

// Runs `io` (kept alive by a work guard) until `done()` or the time limit; false on timeout.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto guard = boost::asio::make_work_guard(io);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.run_one_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Runs the awaitable to completion on `io` and returns its value.
template <class T>
T run_awaitable(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
  std::optional<T> out;
  std::exception_ptr err;
  boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    err = e;
    out = std::move(v);
  });
  EXPECT_TRUE(run_until(io, [&] { return out.has_value() || err; })) << "awaitable did not finish";
  if (err) std::rethrow_exception(err);
  return std::move(*out);
}

}  // namespace troupe::sync::testing
