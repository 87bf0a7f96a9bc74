#include "chat/ContextCache.h"

namespace troupe::chat {

ContextCache::ContextCache(std::size_t max_chats, std::size_t max_bytes)
    : max_chats_(max_chats), max_bytes_(max_bytes) {}

ContextCache::Ticket ContextCache::ticket(store::Id user_id) const {
  std::lock_guard lock(mu_);
  return epochs_[stripe(user_id)];
}

std::size_t ContextCache::bytes_of(const ChatContext& ctx) {
  const auto& c = ctx.character;
  std::size_t n = sizeof(ChatContext) + ctx.chat.title.size() + c.name.size() + c.description.size() +
                  c.personality.size() + c.scenario.size() + c.first_mes.size() +
                  c.mes_example.size() + c.creator_notes.size() + c.system_prompt.size() +
                  c.post_history_instructions.size() + c.creator.size() +
                  c.character_version.size() + c.extensions_json.size() +
                  c.character_book_json.size() + c.extra_json.size() + c.top_extra_json.size() +
                  c.source_spec.size();
  for (const auto& s : c.alternate_greetings) n += sizeof(s) + s.size();
  for (const auto& s : c.tags) n += sizeof(s) + s.size();
  if (ctx.persona) n += ctx.persona->name.size() + ctx.persona->description.size();
  return n;
}

std::optional<ChatContext> ContextCache::get(store::Id user_id, store::Id chat_id) {
  std::shared_ptr<const ChatContext> found;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(chat_id);
    if (it == entries_.end()) {
      ++misses_;
      return std::nullopt;
    }
    if (it->second.epoch != epochs_[stripe(it->second.user_id)]) {
      erase_locked(it);  // stale: its user changed something since the fill
      ++misses_;
      return std::nullopt;
    }
    if (it->second.user_id != user_id) {
      ++misses_;  // another user's chat: the store answers (not found)
      return std::nullopt;
    }
    ++hits_;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    found = it->second.ctx;
  }
  return *found;  // copied outside the lock
}

void ContextCache::put(store::Id user_id, const ChatContext& ctx, Ticket ticket) {
  if (max_chats_ == 0 || ctx.chat.user_id != user_id || ctx.character.user_id != user_id) return;
  auto copy = std::make_shared<ChatContext>(ctx);
  copy->character.avatar_png.clear();
  copy->character.avatar_png.shrink_to_fit();
  const std::size_t bytes = bytes_of(*copy);
  const store::Id chat_id = ctx.chat.id;
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(chat_id); it != entries_.end()) erase_locked(it);
  if (ticket != epochs_[stripe(user_id)] || bytes > max_bytes_) return;
  while (!lru_.empty() && (entries_.size() >= max_chats_ || bytes_ + bytes > max_bytes_)) {
    erase_locked(entries_.find(lru_.back()));
  }
  lru_.push_front(chat_id);
  entries_.emplace(chat_id, Entry{user_id, ticket, std::move(copy), bytes, lru_.begin()});
  bytes_ += bytes;
}

void ContextCache::invalidate_user(store::Id user_id) {
  std::lock_guard lock(mu_);
  ++epochs_[stripe(user_id)];
}

void ContextCache::clear() {
  std::lock_guard lock(mu_);
  for (auto& e : epochs_) ++e;  // fills in flight were read before the clear: drop them too
  entries_.clear();
  lru_.clear();
  bytes_ = 0;
}

ContextCache::Stats ContextCache::stats() const {
  std::lock_guard lock(mu_);
  return Stats{hits_, misses_, entries_.size(), bytes_};
}

void ContextCache::erase_locked(std::unordered_map<store::Id, Entry>::iterator it) {
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

}  // namespace troupe::chat
