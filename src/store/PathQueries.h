// PathQueries: the reads of a chat's selected path that are the same on every backend, written
// once over the backend's connection and message-tree types. `Tree` is constructed as
// Tree(conn, 0) and offers walk_up(chat_id, start, max); the backend's load_chat_any(conn, id)
// and load_message_any(conn, id) are found through the connection's namespace.
// Thread-safety: as the connection: call inside the backend's snapshot on the thread that owns it.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

#include "core/Result.h"
#include "store/ChatStore.h"

namespace troupe::store {

// A page of the selected path ending just above `before` (0: at the leaf), oldest first.
template <class Tree, class Conn>
Result<PathPage> path_page_in(Conn& c, Id chat_id, Id before, int limit) {
  limit = std::clamp(limit, 1, 1000);
  auto chat = load_chat_any(c, chat_id);
  if (!chat.ok()) return chat.error();
  Id start = chat->leaf_id;
  if (before != 0) {
    auto b = load_message_any(c, before);
    if (!b.ok()) return b.error();
    if (b->chat_id != chat_id) return make_error(Errc::not_found, "message not found");
    start = b->parent_id;
  }
  PathPage page;
  auto msgs = Tree(c, 0).walk_up(chat_id, start, limit);
  if (!msgs.ok()) return msgs.error();
  page.messages = std::move(*msgs);
  if (!page.messages.empty() && page.messages.front().parent_id != 0) {
    page.next_before = page.messages.front().id;
  }
  return page;
}

// The selected path from the root down to `until` (0: the leaf), at most `max_messages` of its
// newest messages.
template <class Tree, class Conn>
Result<std::vector<Message>> path_to_in(Conn& c, Id chat_id, Id until, int max_messages) {
  if (max_messages <= 0) return make_error(Errc::bad_request, "max_messages must be positive");
  auto chat = load_chat_any(c, chat_id);
  if (!chat.ok()) return chat.error();
  Id start = chat->leaf_id;
  if (until != 0) {
    auto u = load_message_any(c, until);
    if (!u.ok()) return u.error();
    if (u->chat_id != chat_id) return make_error(Errc::not_found, "message not found");
    start = until;
  }
  return Tree(c, 0).walk_up(chat_id, start, max_messages);
}

}  // namespace troupe::store
