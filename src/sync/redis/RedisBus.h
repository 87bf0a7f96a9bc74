// RedisBus: the EventBus for several nodes sharing one Redis. Each publish runs one Lua script
// that takes the chat's next seq (INCR on a per-chat counter seeded from the store's
// SeqAllocator), appends the event to the chat's Redis Stream (bounded, MAXLEN ~) and PUBLISHes
// it on the chat's channel. One subscription connection per node carries every chat channel that
// has local subscribers; a new subscriber first replays the stream after its seq (XRANGE), then
// continues live, deduplicated by seq. On Redis loss this node's own events are still delivered
// to its local subscribers (with node-local seqs); after reconnecting, every local subscriber is
// re-synced from the stream. Control messages (e.g. "stop") travel on their own channels.
// Thread-safety: every member is safe to call from any thread; prepare() blocks (store + one
// Redis round trip) and must not run on the bus's executor. Destroy from a non-I/O thread while
// the executors still run. A subscriber's executor must be a strand (or single-threaded).
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/TaskScope.h"
#include "sync/EventBus.h"
#include "sync/redis/RedisConnection.h"

namespace troupe::sync::redis {

struct RedisBusOptions {
  RedisConnectionOptions connection;
  std::string key_prefix = "troupe:";
  std::size_t stream_maxlen = 10000;     // events kept per chat stream (approximate trim)
  std::size_t replay_limit = 10000;      // events replayed per (re)sync; beyond: "resync"
  std::size_t subscriber_queue = 4096;   // per-subscriber live backlog before overflow
  std::int64_t seq_block = 1 << 20;      // numbers reserved per store write
  std::size_t max_idle_chats = 4096;     // chats without local subscribers kept in memory
  std::chrono::milliseconds sweep_interval{1000};  // subscriber end / failed re-sync check
  std::chrono::milliseconds prepare_timeout{2000};
};

class RedisBus final : public EventBus {
 public:
  RedisBus(boost::asio::any_io_executor ex, TaskRegistry& registry, SeqAllocator& seq,
           RedisBusOptions opts);
  ~RedisBus() override;

  Status prepare(std::int64_t chat_id) override;
  // Non-blocking: the seq is assigned in Redis after the call returns, so the returned event
  // carries seq 0 (subscribers receive the numbered event). Without Redis, the event goes to this
  // node's subscribers only, numbered locally, and the returned event carries that number.
  Result<EventPtr> publish(std::int64_t chat_id, std::string_view type,
                           std::string_view fields) override;
  Result<std::shared_ptr<Subscription>> subscribe(boost::asio::any_io_executor ex,
                                                  std::int64_t chat_id,
                                                  std::int64_t after_seq) override;
  std::int64_t last_seq(std::int64_t chat_id) override;
  void drop_chat(std::int64_t chat_id) override;
  void close_all() override;
  std::size_t subscriber_count() const override;

  // Control messages between nodes: a message published on `topic` by any node reaches every
  // node's handlers for that topic (this node's too, also while Redis is down). Handlers run on
  // the subscription connection's strand and must not block.
  std::uint64_t subscribe_control(const std::string& topic, ControlHandler handler) override;
  void unsubscribe_control(std::uint64_t id) override;
  void publish_control(const std::string& topic, std::string payload) override;
  bool shared() const override { return true; }

  // connected when both connections are; degraded otherwise (for /readyz and /metrics).
  RedisState state() const;
  std::uint64_t reconnects() const;
  // The command connection, shared with RedisLock.
  std::shared_ptr<RedisConnection> commands() const { return cmd_; }

 private:
  struct Local;
  struct Chat {
    std::vector<std::shared_ptr<Local>> locals;
    bool prepared = false;
    std::int64_t mark = 0;             // store high-water mark reserved by this node
    std::int64_t last_known = 0;       // highest seq seen on this node
    std::int64_t provisional_max = 0;  // highest node-local seq handed out without Redis
  };

  std::string counter_key(std::int64_t chat) const;
  std::string stream_key(std::int64_t chat) const;
  std::string chat_channel(std::int64_t chat) const;
  std::string control_channel(const std::string& topic) const;
  Chat& chat_locked(std::int64_t chat_id);  // requires mu_
  void prune_locked();                      // requires mu_
  void deliver_locked(Local& l, const EventPtr& ev);  // requires mu_
  void deliver_provisional(std::int64_t chat_id, const std::string& type,
                           const std::string& prefix, const std::string& suffix);
  void on_message(const std::string& channel, const std::string& payload);
  void on_control(const std::string& topic, const std::string& payload);
  // Checks every prepared chat's counter (a restarted Redis may have lost it) and raises counters
  // above node-local seqs; runs after either connection (re)connects. Any thread.
  void reconcile_counters();
  void on_reconnected();
  static void kick(const std::shared_ptr<Local>& l);
  boost::asio::awaitable<void> run_local(std::shared_ptr<Local> l, std::shared_ptr<Task> task);
  // True when the replay was merged (or the subscriber is gone); false to retry later.
  boost::asio::awaitable<bool> sync_local(const std::shared_ptr<Local>& l);

  SeqAllocator& seq_;
  RedisBusOptions opts_;
  std::shared_ptr<RedisConnection> cmd_;
  std::shared_ptr<RedisConnection> sub_;
  std::shared_ptr<TaskScope> scope_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, Chat> chats_;
  std::map<std::string, std::map<std::uint64_t, ControlHandler>> control_;
  std::uint64_t next_control_id_ = 1;
};

}  // namespace troupe::sync::redis
