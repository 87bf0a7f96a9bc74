// ChatLeases: who may run a chat's generation, across every node sharing the store. acquire()
// grants this node the chat's lease or answers conflict while another holder has it; a granted
// lease renews itself once keep() is called, reports its loss through the keep() callback, and
// is given back by release(). LocalChatLeases (one node) always grants: the GenerationManager's
// own map still allows one generation per chat. RedisChatLeases shares them through Redis.
// Thread-safety: ChatLeases members may be called from any thread. A ChatLease is driven by one
// owner: keep() once, then release() (awaited from one coroutine at a time); on_lost may run on
// any thread and must not block.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/Result.h"

namespace troupe::sync {

class ChatLease {
 public:
  virtual ~ChatLease() = default;
  // Starts renewing. `on_lost` runs at most once, if the lease is lost while held (someone else
  // may own the chat now); never after release() began.
  virtual void keep(std::function<void()> on_lost) = 0;
  // Stops renewing and gives the lease back if it is still ours. Idempotent.
  virtual boost::asio::awaitable<Status> release() = 0;
  // release() without waiting (for paths that cannot await); runs in the leases' own scope.
  virtual void release_detached() = 0;
  // Fencing number of this grant (strictly increasing per chat; 0 for local leases).
  virtual std::int64_t fence() const = 0;
  // False for a provisional lease (granted while the lease service was unreachable; it is taken
  // for real as soon as the service answers, or reported lost if someone else has it by then).
  // Only a confirmed lease proves that no other node runs a generation in the chat.
  virtual bool confirmed() const { return true; }
};

class ChatLeases {
 public:
  virtual ~ChatLeases() = default;
  // The chat's lease for this node; conflict while another holder has it. When the lease
  // service cannot be reached, an implementation may grant a provisional lease (see
  // ChatLease::confirmed) if something else still keeps one generation per chat (the store's
  // one-running-generation rule does), or answer unavailable.
  virtual boost::asio::awaitable<Result<std::shared_ptr<ChatLease>>> acquire(std::int64_t chat_id) = 0;
  // Whether any node holds the chat's lease right now.
  virtual boost::asio::awaitable<Result<bool>> held(std::int64_t chat_id) = 0;
  // True when other processes share the leases (then a "running" generation in the store that
  // this node does not run may belong to a live node, or to a dead one whose lease expired).
  virtual bool shared() const = 0;
  // The lease's time to live (how long a dead holder keeps a chat).
  virtual std::chrono::milliseconds ttl() const = 0;
};

}  // namespace troupe::sync
