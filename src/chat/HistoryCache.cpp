#include "chat/HistoryCache.h"

namespace troupe::chat {

HistoryCache::HistoryCache(std::size_t max_chats, std::size_t max_bytes)
    : max_chats_(max_chats), max_bytes_(max_bytes) {}

HistoryCache::Ticket HistoryCache::ticket() const {
  std::lock_guard lock(mu_);
  return forgets_;
}

std::size_t HistoryCache::bytes_of(const std::vector<store::Message>& path) {
  std::size_t n = 0;
  for (const auto& m : path) n += sizeof(store::Message) + m.content.size() + m.role.size() + m.status.size();
  return n;
}

std::optional<std::vector<store::Message>> HistoryCache::extend(const store::Message& next,
                                                                 Ticket& ticket) {
  std::lock_guard lock(mu_);
  ticket = forgets_;
  auto it = entries_.find(next.chat_id);
  if (it == entries_.end() || it->second.path.empty() || next.parent_id == 0 ||
      it->second.path.back().id != next.parent_id) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  std::vector<store::Message> out;
  out.reserve(it->second.path.size() + 1);
  out = it->second.path;
  out.back().active_child_id = next.id;  // as the store has it now
  out.push_back(next);
  return out;
}

void HistoryCache::remember(store::Id chat_id, std::vector<store::Message> path, Ticket ticket) {
  const std::size_t bytes = bytes_of(path);
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(chat_id); it != entries_.end()) erase_locked(it);
  if (ticket != forgets_ || path.empty() || max_chats_ == 0 || bytes > max_bytes_) return;
  while (!lru_.empty() && (entries_.size() >= max_chats_ || bytes_ + bytes > max_bytes_)) {
    erase_locked(entries_.find(lru_.back()));
  }
  lru_.push_front(chat_id);
  entries_.emplace(chat_id, Entry{std::move(path), bytes, lru_.begin()});
  bytes_ += bytes;
}

void HistoryCache::forget(store::Id chat_id) {
  std::lock_guard lock(mu_);
  ++forgets_;
  if (auto it = entries_.find(chat_id); it != entries_.end()) erase_locked(it);
}

void HistoryCache::clear() {
  std::lock_guard lock(mu_);
  ++forgets_;
  entries_.clear();
  lru_.clear();
  bytes_ = 0;
}

HistoryCache::Stats HistoryCache::stats() const {
  std::lock_guard lock(mu_);
  return Stats{hits_, misses_, entries_.size(), bytes_};
}

void HistoryCache::erase_locked(std::unordered_map<store::Id, Entry>::iterator it) {
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

}  // namespace troupe::chat
