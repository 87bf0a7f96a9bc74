// Envelope: the Pub/Sub payload of a chat event, "<seq>:<publish µs> <type> <json>" — the
// publishing node's wall-clock publish time travels with the event so that subscribers' nodes can
// measure delivery. The older form "<seq> <type> <json>" (no time) is still read.
// Thread-safety: pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::sync::redis {

struct Envelope {
  std::int64_t seq = 0;
  std::int64_t published_us = 0;  // 0 when the payload carried no time
  std::string_view type;          // views into the parsed payload
  std::string_view json;
};

// False for a malformed payload (no seq, no type, trailing garbage in the numbers).
bool parse_envelope(std::string_view payload, Envelope& out);
// The payload for an event (the publish script builds the same form in Lua).
std::string format_envelope(std::int64_t seq, std::int64_t published_us, std::string_view type,
                            std::string_view json);

}  // namespace troupe::sync::redis
