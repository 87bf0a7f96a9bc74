// Sub, Chat and Shared: the state every thread of the turn floor reaches.
// Thread-safety: a Chat's mutex guards its fields (id, character_id are const); Shared's members
// are atomic or guarded as marked, but tokens, auth, words, inboxes are set by main() beforehand.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "Common.h"
#include "Histogram.h"
#include "Inbox.h"

namespace troupe_turn_floor {

struct Sub {
  int thread, fd;
  std::uint64_t conn_id;
};

struct Chat {
  Chat(std::int64_t i, std::int64_t c) : id(i), character_id(c) {}
  const std::int64_t id, character_id;
  std::mutex mu;  // guards everything below; never held with another chat's
  bool running = false;
  std::int64_t reserved_seq = 0;  // the last seq given out (to the turn in flight)
  std::int64_t last_seq = 0;      // the last seq published
  std::int64_t next_message = 2;  // message 1 is the character's greeting, a new chat's leaf
  std::int64_t leaf = 1, next_generation = 1;
  std::shared_ptr<const std::string> held;  // the last published turn's events
  std::vector<std::uint32_t> held_offsets;
  std::int64_t held_first = 0;
  bool in_held_fifo = false;
  std::vector<Sub> subs;
};

struct Shared {
  int tokens = 64;
  std::string auth;                // "Bearer trp_..."
  std::vector<std::string> words;  // kWords, JSON-escaped
  std::vector<Inbox*> inboxes;     // one per I/O thread, by index
  std::vector<std::atomic<Chat*>> chats = std::vector<std::atomic<Chat*>>(kMaxChats + 1);
  std::atomic<std::int64_t> chat_count{0}, character_count{0}, turns{0};
  std::atomic<int> connections{0};
  std::atomic<bool> stop{false};
  // Chats in the order they first retained events; over budget, the oldest forget theirs.
  std::mutex held_mu;
  std::deque<Chat*> held_fifo;
  std::atomic<std::size_t> held_bytes{0};
  Histogram group, wait;  // one commit's writev + fdatasync; a record's wait from queued to durable

  Chat* chat(std::int64_t id) {
    return id >= 1 && id <= kMaxChats
               ? chats[static_cast<std::size_t>(id)].load(std::memory_order_acquire)
               : nullptr;
  }
};

}  // namespace troupe_turn_floor
