// A 10,000-message chat: every page of the selected path is correct and the pages cover the path
// exactly once. The chat is built in one transaction through the backend's message tree (one durable write per
// message would only slow the test down).
#include <set>

#include "StoreTestUtil.h"
#include "store/postgres/PgMessageTree.h"
#include "store/sqlite/MessageTree.h"

namespace troupe::store::sqlite::testing {

class LongChatTest : public StoreBackendTest {
 protected:
  struct Expected {
    Id id;
    int swipe_index;
    int swipe_count;
  };

  // A chain of `n` selected messages; every 100th level has an unselected older sibling, so the
  // selected one there is swipe 1 of 2.
  void build(Id chat_id, int n) {
    Status r;
    if (pg_store_) {
      r = pg_store_->db().write([&](postgres::PgConnection& c) -> Status {
        postgres::PgMessageTree tree(c, clock_.now_ms());
        return build_with(tree, chat_id, n);
      });
    } else {
      r = store_->db().write([&](Connection& c) -> Status {
        MessageTree tree(c, clock_.now_ms());
        return build_with(tree, chat_id, n);
      });
    }
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  template <class Tree>
  Status build_with(Tree& tree, Id chat_id, int n) {
    expected_.clear();  // a retried transaction starts over
    Id parent = 0;
    for (int i = 0; i < n; ++i) {
      Message m;
      m.chat_id = chat_id;
      m.parent_id = parent;
      m.role = i % 2 ? "assistant" : "user";
      m.content = "message " + std::to_string(i);
      int index = 0, count = 1;
      if (i % 100 == 50) {
        Message other = m;
        other.content = "unselected " + std::to_string(i);
        auto o = tree.insert(other);
        if (!o.ok()) return o.error();
        index = 1;
        count = 2;
      }
      auto ins = tree.insert(m);
      if (!ins.ok()) return ins.error();
      TROUPE_TRY_STATUS(tree.set_active_child(chat_id, parent, ins->id));
      expected_.push_back({ins->id, index, count});
      parent = ins->id;
    }
    return tree.set_leaf(chat_id, parent);
  }

  std::vector<Expected> expected_;
};
TROUPE_STORE_BACKENDS(LongChatTest);

TEST_P(LongChatTest, TenThousandMessagesPageCorrectly) {
  constexpr int kMessages = 10'000;
  User u = make_user("alice");
  Character ch = make_character(u.id, "Aria");
  Chat c = make_chat(u.id, ch.id, {});
  build(c.id, kMessages);
  ASSERT_EQ(expected_.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(chat(u.id, c.id).leaf_id, expected_.back().id);

  // The first page is the newest 50.
  auto first = chats().path_page(c.id, 0, 50);
  ASSERT_OK(first);
  ASSERT_EQ(first->messages.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(first->messages[i].id, expected_[kMessages - 50 + i].id);
  }
  EXPECT_EQ(first->messages.back().content, "message " + std::to_string(kMessages - 1));

  // Walk every page (an odd size, so the last page is partial).
  constexpr int kPage = 37;
  std::vector<Message> all;
  std::set<Id> seen;
  Id before = 0;
  int pages = 0;
  for (;;) {
    auto p = chats().path_page(c.id, before, kPage);
    ASSERT_OK(p);
    ASSERT_FALSE(p->messages.empty());
    ASSERT_LE(p->messages.size(), static_cast<std::size_t>(kPage));
    ++pages;
    for (std::size_t i = 1; i < p->messages.size(); ++i) {
      ASSERT_EQ(p->messages[i].parent_id, p->messages[i - 1].id);  // oldest first
    }
    for (const auto& m : p->messages) ASSERT_TRUE(seen.insert(m.id).second) << m.id;
    all.insert(all.begin(), p->messages.begin(), p->messages.end());
    if (p->next_before == 0) {
      EXPECT_EQ(p->messages.front().parent_id, 0);
      break;
    }
    EXPECT_EQ(p->next_before, p->messages.front().id);
    ASSERT_EQ(p->messages.size(), static_cast<std::size_t>(kPage));
    before = p->next_before;
  }
  EXPECT_EQ(pages, (kMessages + kPage - 1) / kPage);
  ASSERT_EQ(all.size(), expected_.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].id, expected_[i].id) << i;
    EXPECT_EQ(all[i].swipe_index, expected_[i].swipe_index) << i;
    EXPECT_EQ(all[i].swipe_count, expected_[i].swipe_count) << i;
    EXPECT_EQ(all[i].content, "message " + std::to_string(i));
  }

  // path_to: the newest `max` up to a message in the middle, and the whole path.
  const Id mid = expected_[5000].id;
  auto to = chats().path_to(c.id, mid, 100);
  ASSERT_OK(to);
  ASSERT_EQ(to->size(), 100u);
  EXPECT_EQ(to->front().id, expected_[4901].id);
  EXPECT_EQ(to->back().id, mid);
  auto whole = chats().path_to(c.id, 0, kMessages * 2);
  ASSERT_OK(whole);
  EXPECT_EQ(whole->size(), static_cast<std::size_t>(kMessages));

  // Appending to the long chat and deleting near its end stay correct.
  Turn t = finished_turn(u.id, c.id, "tail");
  EXPECT_EQ(t.user_message.parent_id, expected_.back().id);
  ASSERT_OK(chats().delete_message(u.id, t.user_message.id));
  EXPECT_EQ(chat(u.id, c.id).leaf_id, expected_.back().id);

  // Selecting an old swipe deep in the chat moves the leaf there.
  auto sel = chats().select_message(u.id, expected_[150].id - 1);  // the unselected sibling
  ASSERT_OK(sel);
  EXPECT_EQ(sel->leaf_id, expected_[150].id - 1);
  auto short_path = chats().path_to(c.id, 0, kMessages);
  ASSERT_OK(short_path);
  EXPECT_EQ(short_path->size(), 151u);
}

TEST_P(LongChatTest, PathTailStopsWhereTheCallerHasEnough) {
  constexpr int kMessages = 3'000;
  User u = make_user("alice");
  Character ch = make_character(u.id, "Aria");
  Chat c = make_chat(u.id, ch.id, {});
  build(c.id, kMessages);

  // From the leaf, newest first to the callback, oldest first in the result.
  std::vector<Id> seen;
  auto tail = chats().path_tail(c.id, 0, 2000, [&](const Message& m) {
    seen.push_back(m.id);
    return seen.size() == 25;
  });
  ASSERT_OK(tail);
  ASSERT_EQ(tail->size(), 25u);
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen.front(), expected_.back().id);
  for (int i = 0; i < 25; ++i) {
    EXPECT_EQ((*tail)[i].id, expected_[kMessages - 25 + i].id) << i;
    EXPECT_EQ(seen[24 - i], (*tail)[i].id);
  }
  EXPECT_EQ(tail->back().content, "message " + std::to_string(kMessages - 1));

  // From a message in the middle; the same messages path_to gives, without the callback's stop.
  const Id mid = expected_[1234].id;
  auto upto = chats().path_tail(c.id, mid, 100, nullptr);
  auto ref = chats().path_to(c.id, mid, 100);
  ASSERT_OK(upto);
  ASSERT_OK(ref);
  ASSERT_EQ(upto->size(), ref->size());
  for (std::size_t i = 0; i < ref->size(); ++i) {
    EXPECT_EQ((*upto)[i].id, (*ref)[i].id);
    EXPECT_EQ((*upto)[i].content, (*ref)[i].content);
  }

  // Reaching the root ends the walk; max_messages caps it; bad arguments are errors.
  auto all = chats().path_tail(c.id, expected_[9].id, 2000, [](const Message&) { return false; });
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 10u);
  EXPECT_EQ(all->front().parent_id, 0);
  EXPECT_ERRC(chats().path_tail(c.id, 0, 0, nullptr), Errc::bad_request);
  Chat other = make_chat(u.id, ch.id, {});
  EXPECT_ERRC(chats().path_tail(other.id, mid, 10, nullptr), Errc::not_found);
}

}  // namespace troupe::store::sqlite::testing
