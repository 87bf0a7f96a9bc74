// LruMap: a map bounded by entry count and by the bytes its entries say they hold; inserting makes
// room by dropping the least recently used entries. The building block of the in-memory caches
// (each adds its own validity rules and its lock).
// Thread-safety: none; callers serialize access (every cache holds it under its own mutex).
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

namespace troupe {

template <class Key, class Value>
class LruMap {
 public:
  LruMap(std::size_t max_entries, std::size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The entry of `key` or nullptr; `touch` makes it the most recently used.
  Value* find(const Key& key, bool touch) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    if (touch) lru_.splice(lru_.begin(), lru_, it->second.lru);
    return &it->second.value;
  }
  // Replaces the entry of `key` (as most recently used), dropping least recently used entries
  // until both bounds hold. An entry larger than the byte bound alone is not stored (the old one
  // is still removed); so is every entry when the count bound is 0. Returns whether it was stored.
  bool put(const Key& key, Value value, std::size_t bytes) {
    erase(key);
    if (max_entries_ == 0 || bytes > max_bytes_) return false;
    while (!lru_.empty() && (entries_.size() >= max_entries_ || bytes_ + bytes > max_bytes_)) {
      const Key victim = lru_.back();
      erase(victim);
    }
    lru_.push_front(key);
    entries_.emplace(key, Entry{std::move(value), bytes, lru_.begin()});
    bytes_ += bytes;
    return true;
  }
  // Removes the entry of `key` and hands its value over (no copy); nullopt when absent.
  std::optional<Value> take(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    std::optional<Value> out(std::move(it->second.value));
    bytes_ -= it->second.bytes;
    lru_.erase(it->second.lru);
    entries_.erase(it);
    return out;
  }
  void erase(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    bytes_ -= it->second.bytes;
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  // Drops every entry for which pred(key, value) holds; returns how many.
  template <class Pred>
  std::size_t erase_if(Pred pred) {
    std::size_t n = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (pred(it->first, it->second.value)) {
        bytes_ -= it->second.bytes;
        lru_.erase(it->second.lru);
        it = entries_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
  void clear() {
    entries_.clear();
    lru_.clear();
    bytes_ = 0;
  }
  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    Value value;
    std::size_t bytes = 0;
    typename std::list<Key>::iterator lru;  // position in lru_ (front = most recent)
  };
  const std::size_t max_entries_;
  const std::size_t max_bytes_;
  std::unordered_map<Key, Entry> entries_;
  std::list<Key> lru_;
  std::size_t bytes_ = 0;
};

}  // namespace troupe
