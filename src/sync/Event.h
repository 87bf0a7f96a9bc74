// Event: one item of a chat's event stream, serialised once and shared by every subscriber.
// Thread-safety: immutable after publish; shared through shared_ptr<const Event>.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace troupe::sync {

struct Event {
  std::int64_t chat_id = 0;
  std::int64_t seq = 0;   // increasing per chat; assigned by the publisher
  std::string type;       // "message.created", "generation.started", "token", ...
  std::string json;       // the whole event as one JSON object (includes type and seq)
  // Wall-clock time (µs since the epoch) at which the publishing node published it; 0 = unknown.
  // Carried across nodes, so a subscriber's node can measure publish -> socket write.
  std::int64_t published_us = 0;
};

// The wall clock in µs since the epoch (what published_us holds).
inline std::int64_t wall_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using EventPtr = std::shared_ptr<const Event>;

}  // namespace troupe::sync
