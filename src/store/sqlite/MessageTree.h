// MessageTree: the message-tree operations of one chat on a connection inside the caller's
// transaction. Invariants it keeps: a chat's root_active_id is one of its root-level messages (or 0
// when there are none), every active_child_id is a child of its message (or 0 when it has none),
// and leaf_id is the end of the chain root_active_id -> active_child_id -> ... Walks follow primary
// keys, so a page of the path costs O(page) lookups whatever the chat's length.
// Thread-safety: not thread-safe; one instance per call, on the thread owning the connection.
#pragma once

#include <cstdint>
#include <vector>

#include "core/Result.h"
#include "store/Records.h"

namespace troupe::store::sqlite {

class Connection;

class MessageTree {
 public:
  MessageTree(Connection& c, std::int64_t now_ms) : c_(c), now_(now_ms) {}

  // Inserts `m` and returns it: its id is assigned unless set (a reserved id), its timestamps
  // unless created_at is set; its active_child_id is kept as given.
  Result<Message> insert(Message m);
  // Points `parent_id`'s active child (the chat's root_active_id when 0) at `child_id`.
  Status set_active_child(Id chat_id, Id parent_id, Id child_id);
  // Sets the chat's leaf and touches updated_at.
  Status set_leaf(Id chat_id, Id leaf_id);
  // The end of the active chain starting at `from` (`from` itself when it has no active child).
  Result<Id> descend(Id from);
  // Makes `id` and all its ancestors the selected ones; the leaf becomes descend(id).
  Status select(Id chat_id, Id id);
  // Up to `max` messages of the path ending at `start`, oldest first, with swipe fields.
  Result<std::vector<Message>> walk_up(Id chat_id, Id start, std::int64_t max);
  // True when `ancestor` is `node` or one of its ancestors.
  Result<bool> is_ancestor_or_self(Id ancestor, Id node);
  // Deletes `m` and its subtree (with their finished generations) and repairs links and leaf.
  Status erase(const Message& m, const Chat& chat);
  // Copies `path` (root first) as a new chain of `chat_id`; returns the last copy's id.
  Result<Id> copy_chain(Id chat_id, const std::vector<Message>& path);

 private:
  Connection& c_;
  std::int64_t now_;
};

}  // namespace troupe::store::sqlite
