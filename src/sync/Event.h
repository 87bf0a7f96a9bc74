// Event: one item of a chat's event stream, serialised once and shared by every subscriber.
// An item may also be a run: `count` events of one type with consecutive sequence numbers from
// `seq`, published together (a generation's tokens), whose JSON objects are stored back to back in
// `json`, each followed by '\n' except the last (serialised JSON never holds a raw newline). A
// run is one object in the replay window and in each subscriber's queue instead of `count`;
// readers go through parts() and send each event on its own, so clients see no difference.
// Thread-safety: immutable after publish; shared through shared_ptr<const Event>.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace troupe::sync {

struct Event {
  std::int64_t chat_id = 0;
  std::int64_t seq = 0;   // increasing per chat; assigned by the publisher
  std::string type;       // "message.created", "generation.started", "token", ...
  std::string json;       // the whole event as one JSON object (includes type and seq)
  // Wall-clock time (µs since the epoch) at which the publishing node published it; 0 = unknown.
  // Carried across nodes, so a subscriber's node can measure publish -> socket write.
  std::int64_t published_us = 0;
  std::uint32_t count = 1;  // events in this item (> 1: a run, see above)

  std::int64_t last_seq() const { return seq + count - 1; }
  // Calls f(seq, json) for each event of the item, in order.
  template <class F>
  void parts(F&& f) const {
    if (count == 1) {
      f(seq, std::string_view(json));
      return;
    }
    std::string_view rest(json);
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::size_t nl = i + 1 == count ? rest.size() : rest.find('\n');
      f(seq + i, rest.substr(0, nl));
      if (nl < rest.size()) rest.remove_prefix(nl + 1);
    }
  }
};

// The wall clock in µs since the epoch (what published_us holds).
inline std::int64_t wall_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using EventPtr = std::shared_ptr<const Event>;

}  // namespace troupe::sync
