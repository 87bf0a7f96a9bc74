// ResultCache: retrieval results by (space, query, window, limit) for a TTL; any change to a space
// bumps its version, which invalidates every cached result of that space at once.
// Bounded: at most `max_entries` results (the oldest half is dropped when full).
// Thread-safety: every member may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/Clock.h"
#include "memory/Memory.h"

namespace troupe::memory {

class ResultCache {
 public:
  ResultCache(const Clock& clock, std::int64_t ttl_ms, std::size_t max_entries)
      : clock_(clock), ttl_ms_(ttl_ms), max_entries_(max_entries) {}

  std::optional<RetrievalResult> get(std::int64_t space, const std::string& key);
  // The space's version now; pass it to put() so a result computed across a change is not cached
  // as current.
  std::uint64_t version(std::int64_t space) const;
  void put(std::int64_t space, const std::string& key, std::uint64_t version, const RetrievalResult& r);
  void invalidate(std::int64_t space);
  std::size_t size() const;

 private:
  struct Entry {
    std::uint64_t version = 0;
    std::int64_t expires_ms = 0;
    std::uint64_t order = 0;
    RetrievalResult result;
  };
  std::uint64_t version_locked(std::int64_t space) const;

  const Clock& clock_;
  const std::int64_t ttl_ms_;
  const std::size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, std::uint64_t> versions_;
  std::map<std::pair<std::int64_t, std::string>, Entry> entries_;
  std::uint64_t next_order_ = 0;
};

}  // namespace troupe::memory
