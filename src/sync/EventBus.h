// EventBus: per-chat ordered event streams with sequence numbers, fan-out to subscribers and a
// bounded replay window so reconnecting clients resume from their last seq.
// Thread-safety: every member is safe to call from any thread. publish() never blocks on I/O once
// the chat's stream is prepared (prepare() may touch the store: call it off I/O threads).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/Result.h"
#include "sync/Event.h"
#include "sync/EventBatch.h"
#include "sync/Subscription.h"

namespace troupe::sync {

// Durable source of sequence-number ranges so seq never repeats across restarts.
// Thread-safety: called from any non-I/O thread; blocking.
class SeqAllocator {
 public:
  virtual ~SeqAllocator() = default;
  // Reserves `count` numbers above the chat's high-water mark; returns the new mark.
  virtual Result<std::int64_t> reserve(std::int64_t chat_id, std::int64_t count) = 0;
};

class EventBus {
 public:
  using ControlHandler = std::function<void(const std::string& payload)>;

  virtual ~EventBus() = default;
  // Loads/reserves the chat's sequence range. Cheap when already prepared. Blocking on first use.
  virtual Status prepare(std::int64_t chat_id) = 0;
  // True when the chat's stream is prepared with at least `headroom` sequence numbers to spare,
  // so that many publishes will not touch the store. Never blocks (callable on I/O threads);
  // false means "call prepare() on a DB thread first".
  virtual bool ready(std::int64_t /*chat_id*/, std::int64_t /*headroom*/) { return false; }
  // Appends an event: assigns the next seq and emits
  // {"type":TYPE,"chat_id":ID,"seq":SEQ,<fields>} to every subscriber. `fields` is a list of JSON
  // members without braces ("" for none). Returns the event.
  virtual Result<EventPtr> publish(std::int64_t chat_id, std::string_view type,
                                   std::string_view fields) = 0;
  // Appends every event of `batch` in order, as publish() would, with consecutive sequence
  // numbers: no other publisher's event comes between them. Refuses (Errc::bad_request) a batch
  // over EventBatch's bounds, publishing none of it. On a failure midway (no sequence numbers
  // could be reserved) the events before it stay published. This default publishes one by one;
  // a bus may do it at once (one lock, one wake-up per subscriber).
  virtual Status publish_batch(std::int64_t chat_id, const EventBatch& batch) {
    TROUPE_TRY_STATUS(check_batch(batch));
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto r = publish(chat_id, batch.type(i), batch.fields(i));
      if (!r.ok()) return r.error();
    }
    return {};
  }
  // Subscribes; first delivers retained events with seq > after_seq (or a "resync" event when
  // after_seq is older than what is retained), then live events.
  virtual Result<std::shared_ptr<Subscription>> subscribe(boost::asio::any_io_executor ex,
                                                          std::int64_t chat_id,
                                                          std::int64_t after_seq) = 0;
  // Latest seq of the chat's prepared stream (0 if none yet), or -1 when the stream is not
  // prepared in this bus (the chat's reserved mark in the store is then the resume cursor).
  virtual std::int64_t last_seq(std::int64_t chat_id) = 0;
  // Forgets a deleted chat: closes its subscribers, drops its replay window.
  virtual void drop_chat(std::int64_t chat_id) = 0;
  // Closes every subscription (shutdown).
  virtual void close_all() = 0;
  virtual std::size_t subscriber_count() const = 0;
  // The executor of one of this node's live subscribers of the chat, or nothing. Work that mostly
  // publishes to the chat (a generation) can run there, so that its events reach that subscriber
  // without waking another thread. Never blocks.
  virtual std::optional<boost::asio::any_io_executor> subscriber_executor(std::int64_t /*chat_id*/) {
    return std::nullopt;
  }
  // A new chat can be stored with its first block of sequence numbers already reserved (its
  // seq_reserved mark set in the same write as the chat), so that its stream needs no store write
  // of its own: creation_block() is that block's size (0: this bus reserves on prepare() as
  // usual), and adopt_new_chat() hands the stored mark to the bus once the chat is committed.
  // adopt_new_chat() never blocks and does nothing for a stream the bus already prepared.
  virtual std::int64_t creation_block() const { return 0; }
  virtual void adopt_new_chat(std::int64_t /*chat_id*/, std::int64_t /*seq_reserved*/) {}

  // Control messages between nodes (e.g. "stop generation 7", "memory space 3 changed"): a message
  // published on `topic` reaches every node's handlers for that topic, this node's included. At
  // most once, no ordering across topics. Handlers may run on any thread and must not block.
  virtual std::uint64_t subscribe_control(const std::string& topic, ControlHandler handler) = 0;
  virtual void unsubscribe_control(std::uint64_t id) = 0;
  virtual void publish_control(const std::string& topic, std::string payload) = 0;
  // True when several nodes share this bus (control messages may come from other processes).
  virtual bool shared() const = 0;

 protected:
  static Status check_batch(const EventBatch& batch) {
    if (batch.size() > EventBatch::kMaxEvents || batch.bytes() > EventBatch::kMaxBytes) {
      return make_error(Errc::bad_request, "event batch over its bounds");
    }
    return {};
  }
};

}  // namespace troupe::sync
