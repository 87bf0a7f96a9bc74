#include "chat/ContextCache.h"

namespace troupe::chat {

ContextCache::ContextCache(std::size_t max_chats, std::size_t max_bytes)
    : entries_(max_chats, max_bytes) {}

ContextCache::Ticket ContextCache::ticket(store::Id user_id) const {
  std::lock_guard lock(mu_);
  return epochs_[stripe(user_id)];
}

std::size_t ContextCache::bytes_of(const ChatContext& ctx) {
  if (!ctx.who) return sizeof(ChatContext) + ctx.chat.title.size();
  const auto& c = ctx.who->character;
  std::size_t n = sizeof(ChatContext) + sizeof(Participants) + ctx.chat.title.size() + c.name.size() + c.description.size() +
                  c.personality.size() + c.scenario.size() + c.first_mes.size() +
                  c.mes_example.size() + c.creator_notes.size() + c.system_prompt.size() +
                  c.post_history_instructions.size() + c.creator.size() +
                  c.character_version.size() + c.extensions_json.size() +
                  c.character_book_json.size() + c.extra_json.size() + c.top_extra_json.size() +
                  c.source_spec.size();
  for (const auto& s : c.alternate_greetings) n += sizeof(s) + s.size();
  for (const auto& s : c.tags) n += sizeof(s) + s.size();
  if (ctx.who->persona) n += ctx.who->persona->name.size() + ctx.who->persona->description.size();
  return n;
}

std::shared_ptr<const ChatContext> ContextCache::lookup(store::Id user_id, store::Id chat_id) {
  std::lock_guard lock(mu_);
  const Entry* e = entries_.find(chat_id, false);
  if (e && e->epoch != epochs_[stripe(e->user_id)]) {
    entries_.erase(chat_id);  // stale: its user changed something since the fill
    e = nullptr;
  }
  if (!e || e->user_id != user_id) {
    ++misses_;  // (another user's chat: the store answers, not found)
    return nullptr;
  }
  ++hits_;
  return entries_.find(chat_id, true)->ctx;
}

std::optional<ChatContext> ContextCache::get(store::Id user_id, store::Id chat_id) {
  auto found = lookup(user_id, chat_id);
  if (!found) return std::nullopt;
  return *found;  // copied outside the lock (the chat record; the participants are shared)
}

bool ContextCache::holds(store::Id user_id, store::Id chat_id) { return lookup(user_id, chat_id) != nullptr; }

void ContextCache::put(store::Id user_id, const ChatContext& ctx, Ticket ticket) {
  if (!ctx.who || ctx.chat.user_id != user_id || ctx.who->character.user_id != user_id) return;
  auto copy = std::make_shared<ChatContext>(ctx);
  if (!copy->who->character.avatar_png.empty()) {
    copy->who = Participants::of(copy->who->character, copy->who->persona);
  }
  const std::size_t bytes = bytes_of(*copy);
  std::lock_guard lock(mu_);
  if (ticket != epochs_[stripe(user_id)]) {
    entries_.erase(ctx.chat.id);
    return;
  }
  entries_.put(ctx.chat.id, Entry{user_id, ticket, std::move(copy)}, bytes);
}

void ContextCache::invalidate_user(store::Id user_id) {
  std::lock_guard lock(mu_);
  ++epochs_[stripe(user_id)];
}

void ContextCache::forget(store::Id chat_id) {
  std::lock_guard lock(mu_);
  entries_.erase(chat_id);
}

void ContextCache::forget_user(store::Id user_id) {
  std::lock_guard lock(mu_);
  ++epochs_[stripe(user_id)];  // fills in flight for the user are not served either
  entries_.erase_if([&](store::Id, const Entry& e) { return e.user_id == user_id; });
}

void ContextCache::clear() {
  std::lock_guard lock(mu_);
  for (auto& e : epochs_) ++e;  // fills in flight were read before the clear: drop them too
  entries_.clear();
}

ContextCache::Stats ContextCache::stats() const {
  std::lock_guard lock(mu_);
  return Stats{hits_, misses_, entries_.size(), entries_.bytes()};
}

}  // namespace troupe::chat
