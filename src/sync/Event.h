// Event: one item of a chat's event stream, serialised once and shared by every subscriber.
// Thread-safety: immutable after publish; shared through shared_ptr<const Event>.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace troupe::sync {

struct Event {
  std::int64_t chat_id = 0;
  std::int64_t seq = 0;   // increasing per chat; assigned by the publisher
  std::string type;       // "message.created", "generation.started", "token", ...
  std::string json;       // the whole event as one JSON object (includes type and seq)
};

using EventPtr = std::shared_ptr<const Event>;

}  // namespace troupe::sync
