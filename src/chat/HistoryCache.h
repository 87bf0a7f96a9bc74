// HistoryCache: the newest part of each chat's selected path as its last generation's prompt held
// it, plus that generation's reply, so the next turn's prompt is built without reading the chat
// back from the store (on a long chat that read is one lookup per message, every turn).
//
// Filled when a generation's final state is stored, and when a chat is created (its selected
// greeting); used when a turn's new message hangs off the cached leaf. Every other change to a chat's messages (edit, delete, select, regenerate,
// continue, delete chat) must forget() the chat after the change is stored. A fill carries the
// ticket taken before its history was read: if any chat was forgotten since, the fill is dropped
// (it may hold text read before an edit). Only for a single node: with a shared bus another node
// could change a chat unseen (GenerationManager leaves it disabled).
//
// Bounded by chats and by bytes of message text; the least recently used chats leave first.
// Thread-safety: every member may be called from any thread (one mutex; no store access).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "chat/CacheStats.h"
#include "chat/HistoryPath.h"
#include "core/LruMap.h"
#include "store/Records.h"

namespace troupe::chat {

class HistoryCache {
 public:
  using Ticket = std::uint64_t;

  HistoryCache(std::size_t max_chats, std::size_t max_bytes);

  // Take before reading a chat's history from the store; pass to remember().
  Ticket ticket() const;
  // The cached path of `next.chat_id` followed by `next`, when `next` hangs off the cached leaf
  // (its parent is the path's last message); otherwise nothing. `ticket` is set for remember().
  // A hit moves the path out of the cache: the caller remembers the extended path when its
  // generation is stored, or the chat's next turn reads the store (a miss). The costs counted
  // before come along; `next` is not counted.
  std::optional<HistoryPath> extend(const store::Message& next, Ticket& ticket);
  // The id of the last message of the chat's cached path (0 when none is cached): a turn can
  // assume its new message follows it (extend() checks again).
  store::Id leaf(store::Id chat_id);
  // Caches `path` (oldest first, ending at the chat's new leaf) unless a chat was forgotten after
  // `ticket` was taken, or the path alone exceeds the byte bound.
  void remember(store::Id chat_id, HistoryPath path, Ticket ticket);
  void remember(store::Id chat_id, std::vector<store::Message> path, Ticket ticket) {
    remember(chat_id, HistoryPath{std::move(path), {}}, ticket);
  }
  void forget(store::Id chat_id);
  void clear();  // memory budget trim hook

  using Stats = CacheStats;
  Stats stats() const;

 private:
  static std::size_t bytes_of(const HistoryPath& path);

  mutable std::mutex mu_;
  LruMap<store::Id, HistoryPath> entries_;  // guarded by mu_: path per chat
  Ticket forgets_ = 0;       // guarded by mu_: bumped by forget()/clear()
  std::uint64_t hits_ = 0;   // guarded by mu_
  std::uint64_t misses_ = 0; // guarded by mu_
};

}  // namespace troupe::chat
