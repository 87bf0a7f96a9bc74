// The turn floor's bounds, read by every file, and its two clocks.
// Thread-safety: constants and stateless functions; any thread may use them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace troupe_turn_floor {

constexpr std::size_t kMaxHeader = 16 * 1024;
constexpr std::size_t kMaxBody = 64 * 1024;
constexpr int kMaxConnections = 10'000;
constexpr std::int64_t kMaxChats = 1 << 20, kMaxCharacters = 1 << 20;
constexpr std::size_t kMaxSubscribers = 64;      // per chat
constexpr long kMaxQueued = 65'536;              // records waiting for their commit
constexpr std::size_t kMaxOutput = 4u << 20;     // unsent bytes per connection
constexpr std::size_t kHeldBudget = 256u << 20;  // retained events, all chats together
constexpr std::int64_t kKeepAliveMs = 15'000;

inline std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace troupe_turn_floor
