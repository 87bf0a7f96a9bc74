// LruK: LRU-K access tracking of memory spaces. A space's heat is its K-th most recent access time
// (spaces seen fewer than K times rank below all others, then by last access). Used to choose which
// resident indexes to evict and, persisted as text, which spaces to warm at start-up.
// Thread-safety: none; the engine guards it with its own mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "memory/VectorEngine.h"

namespace troupe::memory {

class LruK {
 public:
  static constexpr std::size_t kMaxTracked = 100000;
  explicit LruK(int k);

  void touch(SpaceId s, std::int64_t now_ms);
  void forget(SpaceId s);
  // All tracked spaces, hottest first.
  std::vector<SpaceId> ranked() const;
  // The coldest of `candidates` (excluding `keep`), if any.
  std::optional<SpaceId> victim(std::span<const SpaceId> candidates, SpaceId keep) const;
  // True when the space was accessed at least K times and its K-th last access is after `since_ms`.
  bool hot(SpaceId s, std::int64_t since_ms) const;
  std::size_t size() const noexcept { return hist_.size(); }

  // Text form: first line "lruk <k>", then "<space> <t1> <t2> ..." per space (newest first).
  std::string serialize() const;
  // Parses serialize()'s output; malformed lines are skipped, never fatal.
  static LruK parse(int k, const std::string& text);

 private:
  std::pair<std::int64_t, std::int64_t> key(SpaceId s) const;  // (k-th access, last access)
  int k_;
  std::unordered_map<SpaceId, std::deque<std::int64_t>> hist_;  // newest first, at most k
};

}  // namespace troupe::memory
