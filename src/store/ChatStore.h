// ChatStore: chats, the message tree, generations and idempotency keys. Every mutating call is one
// transaction and is durable when it returns.
// Thread-safety: implementations are safe for concurrent use from any non-I/O thread (blocking);
// the *_async forms of a store with async_writes() may also be called from I/O threads.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/Result.h"
#include "store/EarlyFinish.h"
#include "store/Records.h"

namespace troupe::store {

struct PathPage {
  std::vector<Message> messages;  // oldest first
  Id next_before = 0;             // pass as `before` for the previous page; 0 = reached the start
};

// A message's siblings (its swipes, the message included), oldest first.
struct Siblings {
  Id parent_id = 0;
  std::vector<Id> ids;  // at most kMaxSiblingsListed, oldest first
  Id selected_id = 0;   // the sibling on the chat's selected path (0 if none)
  int count = 0;        // all siblings, even beyond the listed ones
};
inline constexpr int kMaxSiblingsListed = 1000;

// How long an Idempotency-Key keeps answering with the turn it made (24 h, as clients retry
// within minutes; keys do not pile up for ever).
inline constexpr std::int64_t kIdempotencyTtlMs = 24LL * 60 * 60 * 1000;

// Most generations list_running() returns in one call.
inline constexpr int kMaxRunningListed = 1000;

// A generation that was just given its final state, with its assistant message.
struct FinishedGeneration {
  Generation generation;
  Message reply;
};

class ChatStore {
 public:
  virtual ~ChatStore() = default;

  // Creates a chat whose root-level messages are the greetings (first is selected). The chat's
  // seq_reserved mark starts at c.seq_reserved (a first block of event numbers reserved with the
  // chat, see sync::EventBus::creation_block), 0 when none.
  virtual Result<Chat> create_chat(const Chat& c, const std::vector<std::string>& greetings) = 0;
  virtual Result<Chat> get_chat(Id user_id, Id id) = 0;
  virtual Result<std::vector<Chat>> list_chats(Id user_id, Id character_id, Id after_id,
                                               int limit) = 0;
  virtual Status delete_chat(Id user_id, Id id) = 0;

  // Selected path, newest `limit` messages strictly above `before` (0 = from the leaf).
  virtual Result<PathPage> path_page(Id chat_id, Id before, int limit) = 0;
  // The whole selected path up to (and including) `until` (0 = leaf), oldest first, at most
  // `max_messages` of the newest.
  virtual Result<std::vector<Message>> path_to(Id chat_id, Id until, int max_messages) = 0;
  // The newest part of the selected path ending at `until` (0 = leaf), oldest first, read from
  // `until` upwards and stopping after the first message for which `enough(message)` is true (it
  // sees them newest first) or after `max_messages`. Swipe fields are left at their defaults.
  // Costs O(messages returned), whatever the chat's length: the prompt's history loader.
  virtual Result<std::vector<Message>> path_tail(
      Id chat_id, Id until, int max_messages,
      const std::function<bool(const Message&)>& enough) = 0;
  virtual Result<Message> get_message(Id user_id, Id id) = 0;
  // The siblings of a message (another user's id: not_found).
  virtual Result<Siblings> siblings(Id user_id, Id id) = 0;

  // One transaction: user message under the current leaf, a running generation and its
  // placeholder reply; with a non-empty idempotency key an earlier identical turn is returned.
  // Keys are remembered for kIdempotencyTtlMs; an older key counts as new (and is deleted).
  virtual Result<Turn> begin_turn(Id user_id, Id chat_id, const std::string& content,
                                  const std::string& idempotency_key,
                                  const std::string& backend) = 0;
  // The turn an idempotency key created earlier (any chat of the user), or nullopt.
  virtual Result<std::optional<Turn>> find_turn(Id user_id, const std::string& key) = 0;
  // One transaction: a running generation that writes a new sibling of `reply_to`'s reply
  // (kind "regenerate", parent = reply_to) or extends `message_id` (kind "continue").
  virtual Result<Turn> begin_generation(Id user_id, Id chat_id, const std::string& kind,
                                        Id target_id, const std::string& backend) = 0;
  // Persists partial text of a running generation.
  virtual Status save_partial(Id message_id, const std::string& content) = 0;
  // Final text and status for the message and the generation.
  virtual Status finish_generation(Id generation_id, const std::string& status,
                                   const std::string& content, const std::string& error) = 0;
  // Completion forms of the two writes on every turn's path. A store that queues its writes to a
  // writer thread (async_writes() true) returns at once and calls `done` on that thread after the
  // commit, so no caller thread is held through the fsync. The defaults run the blocking call
  // and call `done` before returning (so call them on a DB thread). `done` must be short: it
  // posts a completion and never calls the store.
  virtual bool async_writes() const { return false; }
  // `early` (optional): the turn's generation may already have ended when the write runs; a
  // store that can stores its final state in the turn's transaction (see EarlyFinish.h). The
  // default leaves it to the generation.
  virtual void begin_turn_async(Id user_id, Id chat_id, std::string content,
                                std::string idempotency_key, std::string backend,
                                std::function<void(Result<Turn>)> done,
                                std::shared_ptr<EarlyFinish> early = nullptr) {
    (void)early;
    done(begin_turn(user_id, chat_id, content, idempotency_key, backend));
  }
  virtual void finish_generation_async(Id generation_id, std::string status, std::string content,
                                       std::string error, std::function<void(Status)> done) {
    done(finish_generation(generation_id, status, content, error));
  }
  virtual Result<Generation> get_generation(Id user_id, Id id) = 0;
  // Marks every generation still "running" (from a previous process) as "interrupted".
  virtual Result<int> interrupt_running() = 0;
  // Generations still "running" in the store (`chat_id` 0 = every chat), oldest first, at most
  // `limit` (clamped to 1..kMaxRunningListed). Several nodes: some may run on another node.
  virtual Result<std::vector<Generation>> list_running(Id chat_id, int limit) = 0;
  // Marks one generation "interrupted" only if it is still "running", keeping the text its
  // message has stored so far; `error` says why. The finished generation and its message, or
  // nullopt when it had already finished (a race with its own end is harmless).
  virtual Result<std::optional<FinishedGeneration>> interrupt_generation(
      Id generation_id, const std::string& error) = 0;

  virtual Result<Message> edit_message(Id user_id, Id id, const std::string& content) = 0;
  // Deletes the message and its subtree; the selected path moves to the nearest survivor.
  virtual Status delete_message(Id user_id, Id id) = 0;
  // Makes `id` the selected sibling; the leaf becomes the end of its selected descendants.
  virtual Result<Chat> select_message(Id user_id, Id id) = 0;
  // New chat holding a copy of the path from the root to `id`, stored with `seq_reserved` as its
  // event sequence mark (like Chat::seq_reserved in create_chat; negative = 0).
  virtual Result<Chat> branch_from(Id user_id, Id id, std::int64_t seq_reserved = 0) = 0;

  // Reserves `count` sequence numbers; returns the new high-water mark.
  virtual Result<std::int64_t> reserve_seq(Id chat_id, std::int64_t count) = 0;
};

}  // namespace troupe::store
