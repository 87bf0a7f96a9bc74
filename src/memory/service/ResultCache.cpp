#include "memory/service/ResultCache.h"

#include <algorithm>
#include <vector>

namespace troupe::memory {

std::uint64_t ResultCache::version_locked(std::int64_t space) const {
  auto it = versions_.find(space);
  return it == versions_.end() ? 0 : it->second;
}

std::optional<RetrievalResult> ResultCache::get(std::int64_t space, const std::string& key) {
  if (ttl_ms_ <= 0 || max_entries_ == 0) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = entries_.find({space, key});
  if (it == entries_.end()) return std::nullopt;
  if (it->second.version != version_locked(space) || clock_.now_ms() >= it->second.expires_ms) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.result;
}

std::uint64_t ResultCache::version(std::int64_t space) const {
  std::lock_guard lock(mu_);
  return version_locked(space);
}

void ResultCache::put(std::int64_t space, const std::string& key, std::uint64_t version,
                      const RetrievalResult& r) {
  if (ttl_ms_ <= 0 || max_entries_ == 0) return;
  std::lock_guard lock(mu_);
  if (version != version_locked(space)) return;
  if (entries_.size() >= max_entries_) {
    // Drop the older half (by insertion order): O(n log n) once per max_entries/2 inserts.
    std::vector<std::uint64_t> orders;
    orders.reserve(entries_.size());
    for (auto& [k, e] : entries_) orders.push_back(e.order);
    std::nth_element(orders.begin(), orders.begin() + orders.size() / 2, orders.end());
    const std::uint64_t cut = orders[orders.size() / 2];
    std::erase_if(entries_, [cut](const auto& kv) { return kv.second.order < cut; });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[{space, key}] = Entry{version, clock_.now_ms() + ttl_ms_, next_order_++, r};
}

void ResultCache::invalidate(std::int64_t space) {
  std::lock_guard lock(mu_);
  if (versions_.size() > 100'000) versions_.clear();  // bound; stale entries then just expire
  ++versions_[space];
  // A version that restarts after clear() must still differ from cached ones: drop the space's.
  for (auto it = entries_.lower_bound({space, std::string()});
       it != entries_.end() && it->first.first == space;) {
    it = entries_.erase(it);
  }
}

std::size_t ResultCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace troupe::memory
