// InProcessBus: the single-node EventBus. Each chat has a stream with its own mutex, a replay ring
// of the last `replay_events` events and weak references to its subscribers. Sequence numbers come
// from a SeqAllocator in large blocks, so the store is touched once per chat per block.
// Thread-safety: every member is safe to call from any thread.
#pragma once

#include <atomic>
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
};

class InProcessBus final : public EventBus {
 public:
  InProcessBus(SeqAllocator& seq, InProcessBusOptions opts);
  ~InProcessBus() override;

  Status prepare(std::int64_t chat_id) override;
  Result<EventPtr> publish(std::int64_t chat_id, std::string_view type,
                           std::string_view fields) override;
  Result<std::shared_ptr<Subscription>> subscribe(boost::asio::any_io_executor ex,
                                                  std::int64_t chat_id,
                                                  std::int64_t after_seq) override;
  std::int64_t last_seq(std::int64_t chat_id) override;
  void drop_chat(std::int64_t chat_id) override;
  void close_all() override;
  std::size_t subscriber_count() const override;
  // Control messages reach this process's handlers only, synchronously on the publishing thread.
  std::uint64_t subscribe_control(const std::string& topic, ControlHandler handler) override;
  void unsubscribe_control(std::uint64_t id) override;
  void publish_control(const std::string& topic, std::string payload) override;
  bool shared() const override { return false; }

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
    std::atomic<std::uint64_t> touched{0};
  };
  std::shared_ptr<Stream> stream(std::int64_t chat_id);
  // Requires s.mu held.
  Status ensure_range(Stream& s, std::int64_t chat_id);
  void prune_idle(std::vector<std::shared_ptr<Stream>>& dropped);  // requires mu_ held

  SeqAllocator& seq_;
  InProcessBusOptions opts_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, std::shared_ptr<Stream>> streams_;
  std::uint64_t clock_ = 0;  // guarded by mu_
  mutable std::mutex control_mu_;
  std::map<std::string, std::map<std::uint64_t, ControlHandler>> control_;
  std::uint64_t next_control_id_ = 1;
};

}  // namespace troupe::sync
