// SpaceKey: the memory space of a scope. "character" scope: one space per user x character (a
// character remembers a user across chats); "chat": one per chat. The key is a 63-bit FNV-1a hash
// of the scope's ids, used both as the store's space_key and the VectorEngine's SpaceId.
// Thread-safety: pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>

#include "memory/Memory.h"

namespace troupe::memory {

inline std::int64_t space_key(const MemoryScope& s, const std::string& scope_kind) {
  std::string k = scope_kind == "chat"
                      ? "chat:" + std::to_string(s.chat_id)
                      : "character:" + std::to_string(s.user_id) + ":" + std::to_string(s.character_id);
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : k) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<std::int64_t>(h & 0x7fffffffffffffffull);
}

}  // namespace troupe::memory
