#include "store/sqlite/MessageTree.h"

#include <initializer_list>
#include <string>

#include "store/sqlite/ChatRows.h"
#include "store/sqlite/Connection.h"

namespace troupe::store::sqlite {
namespace {

// The subtree rooted at ?1 in chat ?2, as a recursive CTE usable in front of a statement (each
// step finds the children through the messages_chat index).
constexpr const char* kSubtreeCte =
    "WITH RECURSIVE sub(id) AS (SELECT ?1 UNION ALL "
    "SELECT m.id FROM sub JOIN messages m ON m.chat_id = ?2 AND m.parent_id = sub.id) ";

// The first column of the first row (0 when there is none); `args` bind to ?1, ?2, ...
Result<Id> single_id(Connection& c, const std::string& sql, std::initializer_list<Id> args) {
  auto st = c.prepare(sql);
  if (!st.ok()) return st.error();
  int i = 1;
  for (Id a : args) st->bind_int(i++, a);
  auto row = st->step();
  if (!row.ok()) return row.error();
  return *row ? st->col_int(0) : Id{0};
}

}  // namespace

Result<Message> MessageTree::insert(Message m) {
  if (m.created_at == 0) {
    m.created_at = now_;
    m.updated_at = now_;
  }
  // ?9 is the id when the caller reserved one; 0 becomes NULL, and SQLite assigns the id.
  auto st = c_.prepare(
      "INSERT INTO messages(id, chat_id, parent_id, active_child_id, role, content, status, "
      "generation_id, created_at, updated_at) VALUES(NULLIF(?9, 0), ?1, ?2, ?10, ?3, ?4, ?5, ?6, "
      "?7, ?8)");
  if (!st.ok()) return st.error();
  st->bind_int(1, m.chat_id).bind_int(2, m.parent_id).bind_text(3, m.role);
  st->bind_text(4, m.content).bind_text(5, m.status).bind_int(6, m.generation_id);
  st->bind_int(7, m.created_at).bind_int(8, m.updated_at).bind_int(9, m.id);
  st->bind_int(10, m.active_child_id);
  TROUPE_TRY_STATUS(st->run());
  m.id = c_.last_insert_id();
  return m;
}

Status MessageTree::set_active_child(Id chat_id, Id parent_id, Id child_id) {
  if (parent_id == 0) {
    auto st = c_.prepare("UPDATE chats SET root_active_id = ?2 WHERE id = ?1");
    if (!st.ok()) return st.error();
    st->bind_int(1, chat_id).bind_int(2, child_id);
    return st->run();
  }
  auto st = c_.prepare("UPDATE messages SET active_child_id = ?2 WHERE id = ?1");
  if (!st.ok()) return st.error();
  st->bind_int(1, parent_id).bind_int(2, child_id);
  return st->run();
}

Status MessageTree::set_leaf(Id chat_id, Id leaf_id) {
  auto st = c_.prepare("UPDATE chats SET leaf_id = ?2, updated_at = ?3 WHERE id = ?1");
  if (!st.ok()) return st.error();
  st->bind_int(1, chat_id).bind_int(2, leaf_id).bind_int(3, now_);
  return st->run();
}

Result<Id> MessageTree::descend(Id from) {
  // Only links to existing children are followed.
  static const std::string sql =
      "WITH RECURSIVE down(id, n) AS (SELECT ?1, 0 UNION ALL "
      "SELECT k.id, down.n + 1 FROM down JOIN messages m ON m.id = down.id "
      "JOIN messages k ON k.id = m.active_child_id AND k.parent_id = m.id) "
      "SELECT id FROM down ORDER BY n DESC LIMIT 1";
  return single_id(c_, sql, {from});
}

Status MessageTree::select(Id chat_id, Id id) {
  // Every (parent, child) pair on the way up points at the child; the top one is the root.
  static const std::string up =
      "WITH RECURSIVE up(child, parent) AS ("
      "SELECT id, parent_id FROM messages WHERE id = ?1 UNION ALL "
      "SELECT m.id, m.parent_id FROM up JOIN messages m ON m.id = up.parent) ";
  {
    auto st = c_.prepare(up +
                         "UPDATE messages SET active_child_id = up.child FROM up "
                         "WHERE messages.id = up.parent AND messages.active_child_id <> up.child");
    if (!st.ok()) return st.error();
    st->bind_int(1, id);
    TROUPE_TRY_STATUS(st->run());
  }
  auto root = single_id(c_, up + "SELECT child FROM up WHERE parent = 0", {id});
  if (!root.ok()) return root.error();
  TROUPE_TRY_STATUS(set_active_child(chat_id, 0, *root));
  auto leaf = descend(id);
  if (!leaf.ok()) return leaf.error();
  return set_leaf(chat_id, *leaf);
}

Result<std::vector<Message>> MessageTree::walk_up(Id chat_id, Id start, std::int64_t max) {
  static const std::string sql =
      std::string(
          "WITH RECURSIVE up(id, n) AS (SELECT ?1, 1 UNION ALL "
          "SELECT m.parent_id, up.n + 1 FROM up JOIN messages m ON m.id = up.id "
          "WHERE m.parent_id <> 0 AND up.n < ?2) SELECT ") +
      kMessageColumns +
      ", (SELECT COUNT(*) FROM messages s WHERE s.chat_id = m.chat_id AND "
      "s.parent_id = m.parent_id AND s.id < m.id), "
      "(SELECT COUNT(*) FROM messages s WHERE s.chat_id = m.chat_id AND "
      "s.parent_id = m.parent_id) "
      "FROM up JOIN messages m ON m.id = up.id WHERE m.chat_id = ?3 ORDER BY up.n DESC";
  std::vector<Message> out;
  if (start == 0 || max <= 0) return out;
  auto st = c_.prepare(sql);
  if (!st.ok()) return st.error();
  st->bind_int(1, start).bind_int(2, max).bind_int(3, chat_id);
  for (;;) {
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    Message m = read_message(*st);
    m.swipe_index = static_cast<int>(st->col_int(kMessageColumnCount));
    m.swipe_count = static_cast<int>(st->col_int(kMessageColumnCount + 1));
    out.push_back(std::move(m));
  }
  return out;
}

Result<bool> MessageTree::is_ancestor_or_self(Id ancestor, Id node) {
  static const std::string sql =
      "WITH RECURSIVE up(id) AS (SELECT ?2 UNION ALL "
      "SELECT m.parent_id FROM up JOIN messages m ON m.id = up.id WHERE m.parent_id <> 0) "
      "SELECT EXISTS(SELECT 1 FROM up WHERE id = ?1)";
  if (ancestor == 0 || node == 0) return false;
  auto r = single_id(c_, sql, {ancestor, node});
  if (!r.ok()) return r.error();
  return *r != 0;
}

Status MessageTree::erase(const Message& m, const Chat& chat) {
  auto leaf_below = is_ancestor_or_self(m.id, chat.leaf_id);
  if (!leaf_below.ok()) return leaf_below.error();
  {
    auto st = c_.prepare(std::string(kSubtreeCte) +
                         "DELETE FROM generations WHERE chat_id = ?2 AND message_id IN sub");
    if (!st.ok()) return st.error();
    st->bind_int(1, m.id).bind_int(2, m.chat_id);
    TROUPE_TRY_STATUS(st->run());
  }
  {
    auto st = c_.prepare(std::string(kSubtreeCte) + "DELETE FROM messages WHERE id IN sub");
    if (!st.ok()) return st.error();
    st->bind_int(1, m.id).bind_int(2, m.chat_id);
    TROUPE_TRY_STATUS(st->run());
  }
  // The parent's selection moves to the newest surviving sibling, if any.
  const Id selected = m.parent_id == 0 ? chat.root_active_id : -1;
  bool was_selected = selected == m.id;
  if (m.parent_id != 0) {
    auto p = load_message_any(c_, m.parent_id);
    if (!p.ok()) return p.error();
    was_selected = p->active_child_id == m.id;
  }
  Id replacement = 0;
  if (was_selected) {
    auto r = single_id(c_,
                       "SELECT COALESCE(MAX(id), 0) FROM messages WHERE chat_id = ?1 AND "
                       "parent_id = ?2",
                       {m.chat_id, m.parent_id});
    if (!r.ok()) return r.error();
    replacement = *r;
    TROUPE_TRY_STATUS(set_active_child(m.chat_id, m.parent_id, replacement));
  }
  if (!*leaf_below) return set_leaf(m.chat_id, chat.leaf_id);  // path untouched
  Id leaf = m.parent_id;
  if (replacement != 0) {
    auto d = descend(replacement);
    if (!d.ok()) return d.error();
    leaf = *d;
  }
  return set_leaf(m.chat_id, leaf);
}

Result<Id> MessageTree::copy_chain(Id chat_id, const std::vector<Message>& path) {
  Id prev = 0;
  for (const Message& src : path) {
    Message m;
    m.chat_id = chat_id;
    m.parent_id = prev;
    m.role = src.role;
    m.content = src.content;
    m.status = src.status == "streaming" ? "interrupted" : src.status;
    m.created_at = src.created_at;
    m.updated_at = src.updated_at;
    auto ins = insert(std::move(m));
    if (!ins.ok()) return ins.error();
    if (prev == 0) TROUPE_TRY_STATUS(set_active_child(chat_id, 0, ins->id));
    prev = ins->id;
  }
  // Each copy has exactly one child: select it.
  auto st = c_.prepare(
      "UPDATE messages SET active_child_id = COALESCE((SELECT k.id FROM messages k WHERE "
      "k.chat_id = ?1 AND k.parent_id = messages.id), 0) WHERE chat_id = ?1");
  if (!st.ok()) return st.error();
  st->bind_int(1, chat_id);
  TROUPE_TRY_STATUS(st->run());
  TROUPE_TRY_STATUS(set_leaf(chat_id, prev));
  return prev;
}

}  // namespace troupe::store::sqlite
