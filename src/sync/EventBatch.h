// EventBatch: a run of events for one chat, built by a publisher and appended by
// EventBus::publish_batch as one unit: consecutive sequence numbers, nothing of another publisher
// in between, one wake-up per subscriber. A generation's tokens go out this way, a run at a time.
// The text of every event lives in one reused buffer, so a warm batch allocates nothing.
// Thread-safety: none; owned and filled by one publisher at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::sync {

class EventBatch {
 public:
  // Bounds of one batch (publish_batch refuses larger ones): events and bytes of text.
  static constexpr std::size_t kMaxEvents = 4096;
  static constexpr std::size_t kMaxBytes = std::size_t{16} << 20;

  // Starts an event of `type` (a fixed identifier, never user text). Its members — JSON without
  // braces, as EventBus::publish takes them — are appended to the returned buffer until the next
  // add(). The reference is valid until then.
  std::string& add(std::string_view type);

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::size_t bytes() const { return text_.size(); }
  // True once another event might not fit: a publisher sends the batch before adding more (an
  // event's members up to kMaxBytes / 2, such as a token of at most 1 MiB, always fit after).
  bool nearly_full() const { return items_.size() >= kMaxEvents || text_.size() >= kMaxBytes / 2; }
  std::string_view type(std::size_t i) const;
  std::string_view fields(std::size_t i) const;

  // Empties the batch, keeping its buffers' capacity.
  void clear();

 private:
  struct Item {
    std::uint32_t type_begin;
    std::uint32_t type_size;
  };
  std::string text_;  // each event's type then its members, back to back
  std::vector<Item> items_;
};

}  // namespace troupe::sync
