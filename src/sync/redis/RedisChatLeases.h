// RedisChatLeases: ChatLeases shared by every node through Redis. A chat's lease is a RedisLock
// on "<prefix>{chat:N}:generation" (SET NX PX ttl with a fencing token); keep() renews it every
// renew_every in a task of this object's scope ("chat.lease", owner chat:N, bounded by
// max_hold), and reports a loss (the key now holds another token, or Redis stayed unreachable
// for longer than the TTL); release() stops the renewal first, then compare-and-deletes the key.
// A node killed while holding a lease stops renewing, so its chats free up after at most ttl.
// With Redis unreachable, acquire() grants a provisional lease (turns keep working; the store
// allows one running generation per chat): keep() then takes the key as soon as Redis answers,
// and reports the lease lost if another node holds it by then.
// Thread-safety: every member may be called from any thread; a lease as in ChatLeases.h.
// Destroy from a non-I/O thread while the executor still runs.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "core/TaskScope.h"
#include "sync/ChatLeases.h"
#include "sync/redis/RedisConnection.h"

namespace troupe::sync::redis {

struct RedisChatLeasesOptions {
  std::string key_prefix = "troupe:";
  std::string owner = "node";                  // written into the lock's token (diagnostics)
  std::chrono::milliseconds ttl{10000};        // a dead holder keeps the chat this long at most
  std::chrono::milliseconds renew_every{0};    // 0 = ttl / 3
  std::chrono::milliseconds max_hold{3600000};  // renewal stops after this (owner never released)
};

class RedisChatLeases final : public ChatLeases {
 public:
  RedisChatLeases(boost::asio::any_io_executor ex, TaskRegistry& registry,
                  std::shared_ptr<RedisConnection> conn, RedisChatLeasesOptions opts);
  ~RedisChatLeases() override;

  boost::asio::awaitable<Result<std::shared_ptr<ChatLease>>> acquire(std::int64_t chat_id) override;
  boost::asio::awaitable<Result<bool>> held(std::int64_t chat_id) override;
  bool shared() const override { return true; }
  std::chrono::milliseconds ttl() const override { return opts_.ttl; }

  // Leases this node holds now, and leases lost while held since start.
  std::int64_t held_count() const;
  std::uint64_t losses() const;
  std::string key(std::int64_t chat_id) const;

  // State shared with the leases (they may outlive this object by a moment).
  struct Shared {
    boost::asio::any_io_executor ex;
    std::shared_ptr<TaskScope> scope;
    std::chrono::milliseconds renew_every{};
    std::chrono::milliseconds max_hold{};
    std::atomic<std::int64_t> held{0};
    std::atomic<std::uint64_t> losses{0};
  };

 private:
  std::shared_ptr<RedisConnection> conn_;
  RedisChatLeasesOptions opts_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace troupe::sync::redis
