#include "store/postgres/PgMessageTree.h"

#include <string>

#include "store/postgres/PgConnection.h"
#include "store/postgres/PgRows.h"

namespace troupe::store::postgres {
namespace {

// The subtree rooted at $1, as a recursive CTE usable in front of a statement.
constexpr const char* kSubtreeCte =
    "WITH RECURSIVE sub(id) AS (SELECT $1::bigint UNION ALL "
    "SELECT m.id FROM messages m JOIN sub ON m.parent_id = sub.id) ";

// The path from $1 up to its root: (child, parent) pairs.
constexpr const char* kUpCte =
    "WITH RECURSIVE up(child, parent) AS ("
    "SELECT id, parent_id FROM messages WHERE id = $1 UNION ALL "
    "SELECT m.id, m.parent_id FROM up JOIN messages m ON m.id = up.parent) ";

// The first column of the first row (0 when there is none).
Result<Id> single_id(Result<PgResult> r) {
  if (!r.ok()) return r.error();
  return r->empty() ? Id{0} : r->col_int(0, 0);
}

}  // namespace

Result<Message> PgMessageTree::insert(Message m) {
  if (m.created_at == 0) {
    m.created_at = now_;
    m.updated_at = now_;
  }
  // With a reserved id ($10) the row takes it; 0: the identity sequence gives one.
  auto r = c_.query(
      "INSERT INTO messages(id, chat_id, parent_id, active_child_id, role, content, status, "
      "generation_id, created_at, updated_at) VALUES(COALESCE(NULLIF($10::bigint, 0), "
      "nextval(pg_get_serial_sequence('messages', 'id'))), $1, $2, $9, $3, $4, $5, $6, $7, $8) "
      "RETURNING id",
      {m.chat_id, m.parent_id, m.role, m.content, m.status, m.generation_id, m.created_at,
       m.updated_at, m.active_child_id, m.id});
  if (!r.ok()) return r.error();
  m.id = r->col_int(0, 0);
  return m;
}

Status PgMessageTree::set_active_child(Id chat_id, Id parent_id, Id child_id) {
  if (parent_id == 0) {
    auto r = c_.query("UPDATE chats SET root_active_id = $2 WHERE id = $1", {chat_id, child_id});
    if (!r.ok()) return r.error();
    return {};
  }
  auto r = c_.query("UPDATE messages SET active_child_id = $2 WHERE id = $1",
                    {parent_id, child_id});
  if (!r.ok()) return r.error();
  return {};
}

Status PgMessageTree::set_leaf(Id chat_id, Id leaf_id) {
  auto r = c_.query("UPDATE chats SET leaf_id = $2, updated_at = $3 WHERE id = $1",
                    {chat_id, leaf_id, now_});
  if (!r.ok()) return r.error();
  return {};
}

Result<Id> PgMessageTree::descend(Id from) {
  // Only links to existing children are followed.
  return single_id(c_.query(
      "WITH RECURSIVE down(id, n) AS (SELECT $1::bigint, 0 UNION ALL "
      "SELECT k.id, down.n + 1 FROM down JOIN messages m ON m.id = down.id "
      "JOIN messages k ON k.id = m.active_child_id AND k.parent_id = m.id) "
      "SELECT id FROM down ORDER BY n DESC LIMIT 1",
      {from}));
}

Status PgMessageTree::select(Id chat_id, Id id) {
  // Every (parent, child) pair on the way up points at the child; the top one is the root.
  static const std::string update =
      std::string(kUpCte) +
      "UPDATE messages SET active_child_id = up.child FROM up "
      "WHERE messages.id = up.parent AND messages.active_child_id <> up.child";
  static const std::string top = std::string(kUpCte) + "SELECT child FROM up WHERE parent = 0";
  auto u = c_.query(update, {id});
  if (!u.ok()) return u.error();
  auto root = single_id(c_.query(top, {id}));
  if (!root.ok()) return root.error();
  TROUPE_TRY_STATUS(set_active_child(chat_id, 0, *root));
  auto leaf = descend(id);
  if (!leaf.ok()) return leaf.error();
  return set_leaf(chat_id, *leaf);
}

Result<std::vector<Message>> PgMessageTree::walk_up(Id chat_id, Id start, std::int64_t max) {
  static const std::string sql =
      std::string(
          "WITH RECURSIVE up(id, n) AS (SELECT $1::bigint, 1::bigint UNION ALL "
          "SELECT m.parent_id, up.n + 1 FROM up JOIN messages m ON m.id = up.id "
          "WHERE m.parent_id <> 0 AND up.n < $2) SELECT ") +
      kMessageColumns +
      ", (SELECT COUNT(*) FROM messages s WHERE s.chat_id = m.chat_id AND "
      "s.parent_id = m.parent_id AND s.id < m.id), "
      "(SELECT COUNT(*) FROM messages s WHERE s.chat_id = m.chat_id AND "
      "s.parent_id = m.parent_id) "
      "FROM up JOIN messages m ON m.id = up.id WHERE m.chat_id = $3 ORDER BY up.n DESC";
  std::vector<Message> out;
  if (start == 0 || max <= 0) return out;
  auto r = c_.query(sql, {start, max, chat_id});
  if (!r.ok()) return r.error();
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int row = 0; row < r->rows(); ++row) {
    Message m = read_message(*r, row);
    m.swipe_index = static_cast<int>(r->col_int(row, kMessageColumnCount));
    m.swipe_count = static_cast<int>(r->col_int(row, kMessageColumnCount + 1));
    out.push_back(std::move(m));
  }
  return out;
}

Result<bool> PgMessageTree::is_ancestor_or_self(Id ancestor, Id node) {
  if (ancestor == 0 || node == 0) return false;
  auto r = single_id(c_.query(
      "WITH RECURSIVE up(id) AS (SELECT $2::bigint UNION ALL "
      "SELECT m.parent_id FROM up JOIN messages m ON m.id = up.id WHERE m.parent_id <> 0) "
      "SELECT EXISTS(SELECT 1 FROM up WHERE id = $1)::int",
      {ancestor, node}));
  if (!r.ok()) return r.error();
  return *r != 0;
}

Status PgMessageTree::erase(const Message& m, const Chat& chat) {
  static const std::string del_generations =
      std::string(kSubtreeCte) +
      "DELETE FROM generations WHERE chat_id = $2 AND message_id IN (SELECT id FROM sub)";
  static const std::string del_messages =
      std::string(kSubtreeCte) + "DELETE FROM messages WHERE id IN (SELECT id FROM sub)";
  auto leaf_below = is_ancestor_or_self(m.id, chat.leaf_id);
  if (!leaf_below.ok()) return leaf_below.error();
  if (auto r = c_.query(del_generations, {m.id, m.chat_id}); !r.ok()) return r.error();
  if (auto r = c_.query(del_messages, {m.id}); !r.ok()) return r.error();
  // The parent's selection moves to the newest surviving sibling, if any.
  bool was_selected = m.parent_id == 0 && chat.root_active_id == m.id;
  if (m.parent_id != 0) {
    auto p = load_message_any(c_, m.parent_id);
    if (!p.ok()) return p.error();
    was_selected = p->active_child_id == m.id;
  }
  Id replacement = 0;
  if (was_selected) {
    auto r = single_id(c_.query(
        "SELECT COALESCE(MAX(id), 0) FROM messages WHERE chat_id = $1 AND parent_id = $2",
        {m.chat_id, m.parent_id}));
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

Result<Id> PgMessageTree::copy_chain(Id chat_id, const std::vector<Message>& path) {
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
    if (prev == 0) {
      TROUPE_TRY_STATUS(set_active_child(chat_id, 0, ins->id));
    } else {
      TROUPE_TRY_STATUS(set_active_child(chat_id, prev, ins->id));
    }
    prev = ins->id;
  }
  TROUPE_TRY_STATUS(set_leaf(chat_id, prev));
  return prev;
}

}  // namespace troupe::store::postgres
