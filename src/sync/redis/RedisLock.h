// RedisLock: a lock shared by every node (e.g. one generation per chat). Acquire = SET key token
// NX PX ttl, where the token carries a fencing number from INCR (strictly increasing per key, so a
// holder that lost the lock can be told apart from the current one); renew = compare-and-PEXPIRE
// and release = compare-and-DEL, both atomic Lua scripts that touch the key only while it still
// holds this holder's token.
// Thread-safety: one holder object per acquisition; its members are awaited from one coroutine
// at a time (any executor). Commands run on the shared RedisConnection's strand.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/Result.h"
#include "sync/redis/RedisConnection.h"

namespace troupe::sync::redis {

class RedisLock {
 public:
  // `key` is the full Redis key (e.g. "troupe:{chat:42}:generation"); `owner` names this node in
  // the token (diagnostics only).
  RedisLock(std::shared_ptr<RedisConnection> conn, std::string key, std::string owner,
            std::chrono::milliseconds ttl);

  // One attempt: true when acquired, false when someone else holds it.
  boost::asio::awaitable<Result<bool>> try_acquire();
  // Extends the TTL; Errc::conflict when the lock was lost (expired and maybe taken).
  boost::asio::awaitable<Status> renew();
  // Renews every `every` until cancelled (returns {}) or the lock is lost (returns the error;
  // an unreachable Redis counts as lost once the TTL has run out since the last renewal).
  boost::asio::awaitable<Status> keep_alive(std::chrono::milliseconds every);
  // Deletes the key if it still holds our token. Idempotent.
  boost::asio::awaitable<Status> release();

  bool held() const { return held_; }
  // Fencing number of the current (or last) acquisition; 0 before the first.
  std::int64_t fencing_token() const { return fence_; }
  const std::string& token() const { return token_; }
  const std::string& key() const { return key_; }

 private:
  std::shared_ptr<RedisConnection> conn_;
  std::string key_;
  std::string owner_;
  std::chrono::milliseconds ttl_;
  bool held_ = false;
  std::int64_t fence_ = 0;
  std::string token_;
  std::chrono::steady_clock::time_point valid_until_{};
};

}  // namespace troupe::sync::redis
