#include "chat/HistoryCache.h"

namespace troupe::chat {

HistoryCache::HistoryCache(std::size_t max_chats, std::size_t max_bytes)
    : entries_(max_chats, max_bytes) {}

HistoryCache::Ticket HistoryCache::ticket() const {
  std::lock_guard lock(mu_);
  return forgets_;
}

std::size_t HistoryCache::bytes_of(const HistoryPath& path) {
  std::size_t n = path.costs.size() * sizeof(int);
  for (const auto& m : path.messages) n += sizeof(store::Message) + m.content.size() + m.role.size() + m.status.size();
  return n;
}

std::optional<HistoryPath> HistoryCache::extend(const store::Message& next, Ticket& ticket) {
  std::optional<HistoryPath> out;
  {
    std::lock_guard lock(mu_);
    ticket = forgets_;
    const auto* path = entries_.find(next.chat_id, false);
    if (!path || path->messages.empty() || next.parent_id == 0 ||
        path->messages.back().id != next.parent_id) {
      ++misses_;
      return std::nullopt;
    }
    ++hits_;
    // Handed over, not copied: the generation this turn starts owns the path until it
    // remembers the longer one (a chat runs one generation at a time).
    out = entries_.take(next.chat_id);
  }
  out->messages.back().active_child_id = next.id;  // as the store has it now
  out->messages.push_back(next);
  return out;
}

store::Id HistoryCache::leaf(store::Id chat_id) {
  std::lock_guard lock(mu_);
  const auto* path = entries_.find(chat_id, false);
  return path && !path->messages.empty() ? path->messages.back().id : 0;
}

void HistoryCache::remember(store::Id chat_id, HistoryPath path, Ticket ticket) {
  const std::size_t bytes = bytes_of(path);
  std::lock_guard lock(mu_);
  if (ticket != forgets_ || path.messages.empty()) {
    entries_.erase(chat_id);
    return;
  }
  entries_.put(chat_id, std::move(path), bytes);
}

void HistoryCache::forget(store::Id chat_id) {
  std::lock_guard lock(mu_);
  ++forgets_;
  entries_.erase(chat_id);
}

void HistoryCache::clear() {
  std::lock_guard lock(mu_);
  ++forgets_;
  entries_.clear();
}

HistoryCache::Stats HistoryCache::stats() const {
  std::lock_guard lock(mu_);
  return Stats{hits_, misses_, entries_.size(), entries_.bytes()};
}

}  // namespace troupe::chat
