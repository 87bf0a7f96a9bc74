// InProcessBus: the single-node EventBus. Each chat has a stream with its own mutex, a replay ring
// of the last `replay_events` events and weak references to its subscribers. Sequence numbers come
// from a SeqAllocator in large blocks, so the store is touched once per chat per block.
// publish_batch() keeps consecutive events of one type as one item (a run: see Event).
// Streams are kept in least-recently-used order; while there are more than `max_idle_streams` or
// their rings hold more than `max_retained_events` events in all, the least recently used streams
// without a live subscriber are forgotten, a few at a time as new events arrive (never hundreds at
// once on one publisher), so memory stays bounded and is reused rather than freed in bulk.
// Thread-safety: every member is safe to call from any thread.
#pragma once

#include <atomic>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "sync/EventBus.h"
#include "sync/EventRing.h"

namespace troupe::sync {

struct InProcessBusOptions {
  std::size_t replay_events = 2048;      // retained per chat for resume
  std::size_t subscriber_queue = 4096;   // per-subscriber live backlog before overflow
  std::int64_t seq_block = 1 << 20;      // numbers reserved per store write
  std::size_t max_idle_streams = 1024;  // streams kept for resume before LRU pruning
  // Events held by all replay rings together (~300 bytes each); beyond it idle streams go first.
  std::size_t max_retained_events = 262144;
};

class InProcessBus final : public EventBus {
 public:
  InProcessBus(SeqAllocator& seq, InProcessBusOptions opts);
  ~InProcessBus() override;

  Status prepare(std::int64_t chat_id) override;
  bool ready(std::int64_t chat_id, std::int64_t headroom) override;
  Result<EventPtr> publish(std::int64_t chat_id, std::string_view type,
                           std::string_view fields) override;
  Status publish_batch(std::int64_t chat_id, const EventBatch& batch) override;
  Result<std::shared_ptr<Subscription>> subscribe(boost::asio::any_io_executor ex,
                                                  std::int64_t chat_id,
                                                  std::int64_t after_seq) override;
  std::int64_t last_seq(std::int64_t chat_id) override;
  void drop_chat(std::int64_t chat_id) override;
  void close_all() override;
  std::size_t subscriber_count() const override;
  std::optional<boost::asio::any_io_executor> subscriber_executor(std::int64_t chat_id) override;
  std::int64_t creation_block() const override { return opts_.seq_block; }
  void adopt_new_chat(std::int64_t chat_id, std::int64_t seq_reserved) override;
  // Events held by the replay rings of all streams (for metrics and tests).
  std::size_t retained_events() const { return retained_.load(std::memory_order_relaxed); }
  std::size_t stream_count() const;
  // Control messages reach this process's handlers only, synchronously on the publishing thread.
  std::uint64_t subscribe_control(const std::string& topic, ControlHandler handler) override;
  void unsubscribe_control(std::uint64_t id) override;
  void publish_control(const std::string& topic, std::string payload) override;
  bool shared() const override { return false; }

  // A run of publishes to one chat from one thread touches the chat's LRU position this often.
  static constexpr std::uint32_t kTouchEvery = 32;
  // publish_batch makes consecutive events of one type one item (a run, see Event) of at most
  // this many events and about this many bytes of JSON (within the event pool's buffer size).
  static constexpr std::uint32_t kRunEvents = 64;
  static constexpr std::size_t kRunBytes = 4000;

 private:
  struct Stream {
    explicit Stream(std::size_t replay) : ring(replay) {}
    std::mutex mu;
    bool prepared = false;
    std::int64_t start_seq = 0;  // events <= start_seq were not seen by this process
    std::int64_t last = 0;       // last assigned seq
    std::int64_t high = 0;       // reserved high-water mark
    EventRing ring;
    std::vector<std::weak_ptr<Subscription>> subs;
    bool forgotten = false;  // out of the map: its ring no longer counts in retained_
    std::list<std::int64_t>::iterator lru;  // guarded by the bus's mu_
  };
  std::shared_ptr<Stream> stream(std::int64_t chat_id);
  // stream() for a publisher: a thread publishing to the same chat again (a generation streams
  // tokens in runs) reuses the stream it used last without the bus mutex; every kTouchEvery-th
  // publish still goes through stream() so the chat stays recently used.
  std::shared_ptr<Stream> publisher_stream(std::int64_t chat_id);
  // Locks `s`; while it is forgotten (pruned between its lookup and the lock) moves on to the
  // chat's current stream, so nobody publishes into or subscribes to a stream nobody reads.
  std::unique_lock<std::mutex> lock_current(std::int64_t chat_id, std::shared_ptr<Stream>& s);
  // Requires s.mu held.
  Status ensure_range(Stream& s, std::int64_t chat_id);
  // Requires s.mu held and a reserved seq: the next event, its JSON built (not yet in the ring).
  std::shared_ptr<Event> make_locked(Stream& s, std::int64_t chat_id, std::string_view type,
                                     std::string_view fields, std::int64_t now_us);
  // Requires s.mu held: keeps `ev` in the ring and counts what the ring holds in retained_.
  void retain_locked(Stream& s, EventPtr ev);
  // Requires mu_ held: forgets least recently used idle streams (at most a few per call) while
  // over a bound; `keep` is never forgotten. The streams are destroyed by the caller after mu_.
  void prune_idle(const Stream* keep, std::vector<std::shared_ptr<Stream>>& dropped);
  // Requires mu_ and s.mu held.
  void forget_locked(Stream& s);

  SeqAllocator& seq_;
  InProcessBusOptions opts_;
  const std::uint64_t id_;  // distinguishes buses in the publishers' thread-local caches
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, std::shared_ptr<Stream>> streams_;
  std::list<std::int64_t> lru_;  // guarded by mu_; front = most recently used
  std::atomic<std::size_t> retained_{0};
  std::uint32_t prune_backoff_ = 0;  // guarded by mu_: checks to skip after a fruitless prune
  mutable std::mutex control_mu_;
  std::map<std::string, std::map<std::uint64_t, ControlHandler>> control_;
  std::uint64_t next_control_id_ = 1;
};

}  // namespace troupe::sync
