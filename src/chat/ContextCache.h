// ContextCache: what a turn needs to know about its chat before anything is stored — the chat
// record (it exists and belongs to the user), its character and the persona in effect — so a
// turn in a chat already seen does not wait for a store read on a DB thread.
//
// Only records owned by one user are held, and every change to a user's characters, personas or
// chats must call invalidate_user() after the change is stored: that makes all of the user's
// entries stale (users are spread over a fixed set of epoch counters, so a change may also
// retire other users' entries; that costs a store read, never a stale answer). A fill carries the
// ticket taken before its records were read; a fill whose epoch moved meanwhile is never served.
// The cached character has no avatar (prompts do not use it); a context is a chat record and a
// shared, read-only Participants, which also keeps the prompt's fixed part for the next turns. Only for a single node: another
// node could change a character unseen (the app leaves the cache off with a shared bus).
//
// Bounded by chats and by bytes of text; the least recently used chats leave first.
// Thread-safety: every member may be called from any thread (one mutex; no store access).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "chat/CacheStats.h"
#include "chat/Participants.h"
#include "core/LruMap.h"
#include "store/Records.h"

namespace troupe::chat {

struct ChatContext {
  store::Chat chat;
  // The character (without its avatar: prompts do not use it) and the persona in effect, shared
  // by the cache and the turns (copying a context does not copy them).
  std::shared_ptr<const Participants> who;
};

class ContextCache {
 public:
  using Ticket = std::uint64_t;

  ContextCache(std::size_t max_chats, std::size_t max_bytes);

  // Take before reading a user's chat context from the store; pass to put().
  Ticket ticket(store::Id user_id) const;
  // The user's cached context of `chat_id`, if it is there and still current.
  std::optional<ChatContext> get(store::Id user_id, store::Id chat_id);
  // As get(), without the copy: true when the chat is cached, current and the user's (it exists
  // and is theirs). Counts as a lookup.
  bool holds(store::Id user_id, store::Id chat_id);
  // Caches `ctx` (read for `user_id` after `ticket` was taken) unless the user's epoch has moved.
  void put(store::Id user_id, const ChatContext& ctx, Ticket ticket);
  // After a change to the user's characters, personas or chats has been stored.
  void invalidate_user(store::Id user_id);
  // After the chat was deleted: its entry goes at once (a stale one would hold its memory until
  // the least recently used end reached it).
  void forget(store::Id chat_id);
  // After the user was deleted: all of the user's entries go at once.
  void forget_user(store::Id user_id);
  void clear();  // memory budget trim hook

  using Stats = CacheStats;
  Stats stats() const;

 private:
  struct Entry {
    store::Id user_id = 0;
    Ticket epoch = 0;
    std::shared_ptr<const ChatContext> ctx;
  };
  static constexpr std::size_t kStripes = 256;
  static std::size_t stripe(store::Id user_id) { return static_cast<std::size_t>(user_id) % kStripes; }
  static std::size_t bytes_of(const ChatContext& ctx);
  // The user's current entry for the chat (a stale one is dropped), counted as a hit or a miss.
  std::shared_ptr<const ChatContext> lookup(store::Id user_id, store::Id chat_id);

  mutable std::mutex mu_;
  std::array<Ticket, kStripes> epochs_{};  // guarded by mu_
  LruMap<store::Id, Entry> entries_;      // guarded by mu_: by chat id
  std::uint64_t hits_ = 0;                // guarded by mu_
  std::uint64_t misses_ = 0;              // guarded by mu_
};

}  // namespace troupe::chat
