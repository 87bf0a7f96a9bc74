// CacheStats: the figures both per-chat caches (HistoryCache, ContextCache) report for /metrics
// and tests. A plain value, copied out under the cache's lock; any thread may hold one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace troupe::chat {

struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::size_t chats = 0;  // entries held
  std::size_t bytes = 0;  // their estimated size
};

}  // namespace troupe::chat
