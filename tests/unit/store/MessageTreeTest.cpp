// Swipes, regenerate, continue, select, delete and branch on the message tree.
#include "StoreTestUtil.h"

namespace troupe::store::sqlite::testing {

class MessageTreeTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (HasFatalFailure()) return;
    alice_ = make_user("alice");
    aria_ = make_character(alice_.id, "Aria");
  }

  Message msg(Id id) {
    auto m = chats().get_message(alice_.id, id);
    EXPECT_TRUE(m.ok()) << "message " << id;
    return m.ok() ? *m : Message{};
  }

  Turn regenerate(Id chat_id, Id target, const std::string& text) {
    auto t = chats().begin_generation(alice_.id, chat_id, "regenerate", target, "sim");
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    if (!t.ok()) return {};
    EXPECT_TRUE(chats().finish_generation(t->generation.id, "completed", text, "").ok());
    return *t;
  }

  User alice_;
  Character aria_;
};
TROUPE_STORE_BACKENDS(MessageTreeTest);

TEST_P(MessageTreeTest, RegenerateAddsSelectedSwipes) {
  Chat c = make_chat(alice_.id, aria_.id);
  const Id g = c.leaf_id;
  Turn t1 = finished_turn(alice_.id, c.id, "hi");
  const Id u1 = t1.user_message.id, r1 = t1.reply.id;

  auto t2 = chats().begin_generation(alice_.id, c.id, "regenerate", r1, "sim");
  ASSERT_OK(t2);
  EXPECT_EQ(t2->generation.kind, "regenerate");
  EXPECT_EQ(t2->reply.parent_id, u1);
  EXPECT_EQ(t2->reply.status, "streaming");
  EXPECT_EQ(t2->reply.content, "");
  EXPECT_EQ(t2->reply.swipe_index, 1);
  EXPECT_EQ(t2->reply.swipe_count, 2);
  EXPECT_EQ(t2->user_message.id, u1);
  EXPECT_EQ(t2->generation.message_id, t2->reply.id);
  const Id r2 = t2->reply.id;
  EXPECT_EQ(chat(alice_.id, c.id).leaf_id, r2);
  EXPECT_EQ(path_ids(c.id), (std::vector<Id>{g, u1, r2}));
  ASSERT_OK(chats().finish_generation(t2->generation.id, "completed", "second", ""));
  EXPECT_EQ(msg(r1).content, "re: hi");  // the old swipe is untouched

  // A user message as target: a new reply below it (same siblings).
  Turn t3 = regenerate(c.id, u1, "third");
  const Id r3 = t3.reply.id;
  EXPECT_EQ(t3.reply.parent_id, u1);
  EXPECT_EQ(t3.reply.swipe_index, 2);
  EXPECT_EQ(t3.reply.swipe_count, 3);

  auto page = chats().path_page(c.id, 0, 10);
  ASSERT_OK(page);
  ASSERT_EQ(page->messages.size(), 3u);
  EXPECT_EQ(page->messages[2].id, r3);
  EXPECT_EQ(page->messages[2].swipe_index, 2);
  EXPECT_EQ(page->messages[2].swipe_count, 3);
  EXPECT_EQ(page->messages[1].swipe_count, 1);

  // Select the first swipe back.
  auto sel = chats().select_message(alice_.id, r1);
  ASSERT_OK(sel);
  EXPECT_EQ(sel->leaf_id, r1);
  EXPECT_EQ(path_ids(c.id), (std::vector<Id>{g, u1, r1}));
  EXPECT_EQ(msg(u1).active_child_id, r1);
  auto m1 = msg(r1);
  EXPECT_EQ(m1.swipe_index, 0);
  EXPECT_EQ(m1.swipe_count, 3);

  // Continue the conversation from r1, switch away and back: the leaf follows active links.
  Turn t4 = finished_turn(alice_.id, c.id, "on r1");
  EXPECT_EQ(t4.user_message.parent_id, r1);
  sel = chats().select_message(alice_.id, r3);
  ASSERT_OK(sel);
  EXPECT_EQ(sel->leaf_id, r3);
  sel = chats().select_message(alice_.id, r1);
  ASSERT_OK(sel);
  EXPECT_EQ(sel->leaf_id, t4.reply.id);
  EXPECT_EQ(path_ids(c.id), (std::vector<Id>{g, u1, r1, t4.user_message.id, t4.reply.id}));
}

TEST_P(MessageTreeTest, SelectDeepInAnotherBranchSelectsItsAncestors) {
  Chat c = make_chat(alice_.id, aria_.id);
  const Id g = c.leaf_id;
  Turn t1 = finished_turn(alice_.id, c.id, "one");
  Turn t2 = finished_turn(alice_.id, c.id, "two");
  Turn alt = regenerate(c.id, t1.reply.id, "alt");  // switches away from t1.reply's subtree
  EXPECT_EQ(path_ids(c.id), (std::vector<Id>{g, t1.user_message.id, alt.reply.id}));
  auto sel = chats().select_message(alice_.id, t2.user_message.id);
  ASSERT_OK(sel);
  EXPECT_EQ(sel->leaf_id, t2.reply.id);
  EXPECT_EQ(path_ids(c.id), (std::vector<Id>{g, t1.user_message.id, t1.reply.id,
                                             t2.user_message.id, t2.reply.id}));
}

TEST_P(MessageTreeTest, GreetingSwipes) {
  Chat c = make_chat(alice_.id, aria_.id, {"g1", "g2", "g3"});
  const Id g1 = c.root_active_id;
  Turn t = finished_turn(alice_.id, c.id, "hi");
  auto page = chats().path_page(c.id, 0, 10);
  ASSERT_OK(page);
  const Id g3 = g1 + 2;
  auto sel = chats().select_message(alice_.id, g3);
  ASSERT_OK(sel);
  EXPECT_EQ(sel->root_active_id, g3);
  EXPECT_EQ(sel->leaf_id, g3);
  auto p = chats().path_page(c.id, 0, 10);
  ASSERT_OK(p);
  ASSERT_EQ(p->messages.size(), 1u);
  EXPECT_EQ(p->messages[0].content, "g3");
  EXPECT_EQ(p->messages[0].swipe_index, 2);
  EXPECT_EQ(p->messages[0].swipe_count, 3);

  // Regenerating a greeting makes a new root-level swipe.
  Turn rg = regenerate(c.id, g3, "g4");
  EXPECT_EQ(rg.reply.parent_id, 0);
  EXPECT_EQ(rg.reply.swipe_index, 3);
  EXPECT_EQ(rg.reply.swipe_count, 4);
  EXPECT_EQ(rg.user_message.id, 0);
  Chat after = chat(alice_.id, c.id);
  EXPECT_EQ(after.root_active_id, rg.reply.id);
  EXPECT_EQ(after.leaf_id, rg.reply.id);

  sel = chats().select_message(alice_.id, g1);
  ASSERT_OK(sel);
  EXPECT_EQ(sel->leaf_id, t.reply.id);
}

TEST_P(MessageTreeTest, ContinueReopensTheMessage) {
  Chat c = make_chat(alice_.id, aria_.id);
  Turn t = finished_turn(alice_.id, c.id, "hi");
  auto ct = chats().begin_generation(alice_.id, c.id, "continue", t.reply.id, "sim");
  ASSERT_OK(ct);
  EXPECT_EQ(ct->generation.kind, "continue");
  EXPECT_EQ(ct->generation.message_id, t.reply.id);
  EXPECT_EQ(ct->reply.id, t.reply.id);
  EXPECT_EQ(ct->reply.status, "streaming");
  EXPECT_EQ(ct->reply.content, "re: hi");
  EXPECT_EQ(ct->reply.generation_id, ct->generation.id);
  EXPECT_EQ(ct->user_message.id, t.user_message.id);
  EXPECT_EQ(path_ids(c.id).size(), 3u);  // no new message
  ASSERT_OK(chats().save_partial(t.reply.id, "re: hi and"));
  ASSERT_OK(chats().finish_generation(ct->generation.id, "completed", "re: hi and more", ""));
  Message m = msg(t.reply.id);
  EXPECT_EQ(m.content, "re: hi and more");
  EXPECT_EQ(m.status, "completed");
  EXPECT_ERRC(chats().begin_generation(alice_.id, c.id, "continue", t.user_message.id, "sim"),
              Errc::bad_request);
  // Greetings can be continued too.
  auto cg = chats().begin_generation(alice_.id, c.id, "continue", c.leaf_id, "sim");
  ASSERT_OK(cg);
  EXPECT_EQ(cg->user_message.id, 0);
}

TEST_P(MessageTreeTest, DeleteSelectedSwipeMovesToNewestSibling) {
  Chat c = make_chat(alice_.id, aria_.id);
  const Id g = c.leaf_id;
  Turn t1 = finished_turn(alice_.id, c.id, "hi");
  Turn t2 = regenerate(c.id, t1.reply.id, "two");
  Turn t3 = regenerate(c.id, t1.reply.id, "three");
  ASSERT_OK(chats().select_message(alice_.id, t2.reply.id));
  Turn deeper = finished_turn(alice_.id, c.id, "below two");
  ASSERT_OK(chats().delete_message(alice_.id, t2.reply.id));
  EXPECT_ERRC(chats().get_message(alice_.id, t2.reply.id), Errc::not_found);
  EXPECT_ERRC(chats().get_message(alice_.id, deeper.user_message.id), Errc::not_found);
  EXPECT_ERRC(chats().get_message(alice_.id, deeper.reply.id), Errc::not_found);
  EXPECT_ERRC(chats().get_generation(alice_.id, deeper.generation.id), Errc::not_found);
  EXPECT_EQ(chat(alice_.id, c.id).leaf_id, t3.reply.id);
  EXPECT_EQ(path_ids(c.id), (std::vector<Id>{g, t1.user_message.id, t3.reply.id}));
  Message r3 = msg(t3.reply.id);
  EXPECT_EQ(r3.swipe_index, 1);
  EXPECT_EQ(r3.swipe_count, 2);
}

TEST_P(MessageTreeTest, DeleteOffPathKeepsTheLeaf) {
  Chat c = make_chat(alice_.id, aria_.id);
  Turn t1 = finished_turn(alice_.id, c.id, "hi");
  Turn t2 = regenerate(c.id, t1.reply.id, "two");
  ASSERT_OK(chats().select_message(alice_.id, t1.reply.id));
  Turn t3 = finished_turn(alice_.id, c.id, "more");
  std::vector<Id> before = path_ids(c.id);
  ASSERT_OK(chats().delete_message(alice_.id, t2.reply.id));
  EXPECT_EQ(path_ids(c.id), before);
  EXPECT_EQ(chat(alice_.id, c.id).leaf_id, t3.reply.id);
  EXPECT_EQ(msg(t1.user_message.id).active_child_id, t1.reply.id);
}

TEST_P(MessageTreeTest, DeleteMidPathRepairsLeaf) {
  Chat c = make_chat(alice_.id, aria_.id);
  const Id g = c.leaf_id;
  Turn t1 = finished_turn(alice_.id, c.id, "one");
  finished_turn(alice_.id, c.id, "two");
  ASSERT_OK(chats().delete_message(alice_.id, t1.user_message.id));
  Chat after = chat(alice_.id, c.id);
  EXPECT_EQ(after.leaf_id, g);
  EXPECT_EQ(msg(g).active_child_id, 0);
  EXPECT_EQ(path_ids(c.id), (std::vector<Id>{g}));
  Turn t3 = finished_turn(alice_.id, c.id, "three");
  EXPECT_EQ(t3.user_message.parent_id, g);
}

TEST_P(MessageTreeTest, DeleteRootsMovesRootActive) {
  Chat c = make_chat(alice_.id, aria_.id, {"g1", "g2", "g3"});
  const Id g1 = c.root_active_id, g3 = g1 + 2;
  finished_turn(alice_.id, c.id, "hi");
  ASSERT_OK(chats().delete_message(alice_.id, g1));
  Chat after = chat(alice_.id, c.id);
  EXPECT_EQ(after.root_active_id, g3);
  EXPECT_EQ(after.leaf_id, g3);
  ASSERT_OK(chats().delete_message(alice_.id, g3));
  ASSERT_OK(chats().delete_message(alice_.id, g1 + 1));
  after = chat(alice_.id, c.id);
  EXPECT_EQ(after.root_active_id, 0);
  EXPECT_EQ(after.leaf_id, 0);
  auto page = chats().path_page(c.id, 0, 10);
  ASSERT_OK(page);
  EXPECT_TRUE(page->messages.empty());
  Turn t = finished_turn(alice_.id, c.id, "fresh");
  EXPECT_EQ(t.user_message.parent_id, 0);
  EXPECT_EQ(chat(alice_.id, c.id).root_active_id, t.user_message.id);
}

TEST_P(MessageTreeTest, DeleteRefusesARunningGeneration) {
  Chat c = make_chat(alice_.id, aria_.id);
  const Id g = c.leaf_id;
  Turn t1 = finished_turn(alice_.id, c.id, "one");
  Turn side = regenerate(c.id, t1.reply.id, "side");
  ASSERT_OK(chats().select_message(alice_.id, t1.reply.id));
  auto run = chats().begin_turn(alice_.id, c.id, "two", "", "sim");
  ASSERT_OK(run);
  EXPECT_ERRC(chats().delete_message(alice_.id, run->reply.id), Errc::conflict);
  EXPECT_ERRC(chats().delete_message(alice_.id, run->user_message.id), Errc::conflict);
  EXPECT_ERRC(chats().delete_message(alice_.id, g), Errc::conflict);
  ASSERT_OK(chats().delete_message(alice_.id, side.reply.id));  // not above the running one
  ASSERT_OK(chats().finish_generation(run->generation.id, "stopped", "partial", ""));
  ASSERT_OK(chats().delete_message(alice_.id, run->user_message.id));
  EXPECT_EQ(chat(alice_.id, c.id).leaf_id, t1.reply.id);
}

TEST_P(MessageTreeTest, BranchCopiesThePath) {
  Chat c = make_chat(alice_.id, aria_.id, {"g1", "g2"}, "Tavern");
  Turn t1 = finished_turn(alice_.id, c.id, "one");
  Turn alt = regenerate(c.id, t1.reply.id, "alt one");
  Turn t2 = finished_turn(alice_.id, c.id, "two");
  std::vector<Id> orig_path = path_ids(c.id);
  clock_.advance_ms(100);

  auto b = chats().branch_from(alice_.id, t2.user_message.id);
  ASSERT_OK(b);
  EXPECT_NE(b->id, c.id);
  EXPECT_EQ(b->title, "Tavern (branch)");
  EXPECT_EQ(b->character_id, c.character_id);
  EXPECT_EQ(b->persona_id, c.persona_id);
  EXPECT_EQ(b->user_id, alice_.id);
  EXPECT_EQ(b->created_at, clock_.now_ms());
  auto copy = chats().path_to(b->id, 0, 1000);
  ASSERT_OK(copy);
  auto src = chats().path_to(c.id, t2.user_message.id, 1000);
  ASSERT_OK(src);
  ASSERT_EQ(copy->size(), 4u);
  ASSERT_EQ(src->size(), 4u);
  for (std::size_t i = 0; i < copy->size(); ++i) {
    const Message& a = (*copy)[i];
    const Message& s = (*src)[i];
    EXPECT_NE(a.id, s.id);
    EXPECT_EQ(a.chat_id, b->id);
    EXPECT_EQ(a.role, s.role);
    EXPECT_EQ(a.content, s.content);
    EXPECT_EQ(a.status, s.status);
    EXPECT_EQ(a.created_at, s.created_at);
    EXPECT_EQ(a.swipe_count, 1);
    EXPECT_EQ(a.parent_id, i == 0 ? 0 : (*copy)[i - 1].id);
    EXPECT_EQ(a.active_child_id, i + 1 < copy->size() ? (*copy)[i + 1].id : 0);
  }
  EXPECT_EQ((*copy)[2].content, "alt one");
  EXPECT_EQ(b->leaf_id, copy->back().id);
  EXPECT_EQ(b->root_active_id, copy->front().id);
  EXPECT_EQ(path_ids(c.id), orig_path);  // the source is untouched

  // The branch is a normal chat.
  Turn bt = finished_turn(alice_.id, b->id, "in branch");
  EXPECT_EQ(bt.user_message.parent_id, copy->back().id);
  (void)alt;
}

TEST_P(MessageTreeTest, BranchThroughAStreamingMessage) {
  Chat c = make_chat(alice_.id, aria_.id, {"g"}, "t");
  auto run = chats().begin_turn(alice_.id, c.id, "go", "", "sim");
  ASSERT_OK(run);
  ASSERT_OK(chats().save_partial(run->reply.id, "half"));
  auto b = chats().branch_from(alice_.id, run->reply.id);
  ASSERT_OK(b);
  auto copy = chats().path_to(b->id, 0, 10);
  ASSERT_OK(copy);
  ASSERT_EQ(copy->size(), 3u);
  EXPECT_EQ(copy->back().status, "interrupted");
  EXPECT_EQ(copy->back().content, "half");
  EXPECT_EQ(copy->back().generation_id, 0);
  // The branch has no running generation of its own.
  ASSERT_OK(chats().begin_turn(alice_.id, b->id, "next", "", "sim"));
  auto from_greeting = chats().branch_from(alice_.id, c.root_active_id);
  ASSERT_OK(from_greeting);
  EXPECT_EQ(path_ids(from_greeting->id).size(), 1u);
}

TEST_P(MessageTreeTest, PathPagesWithCursor) {
  Chat c = make_chat(alice_.id, aria_.id);
  const Id g = c.leaf_id;
  Turn t1 = finished_turn(alice_.id, c.id, "one");
  Turn t2 = finished_turn(alice_.id, c.id, "two");
  auto p = chats().path_page(c.id, 0, 2);
  ASSERT_OK(p);
  ASSERT_EQ(p->messages.size(), 2u);
  EXPECT_EQ(p->messages[0].id, t2.user_message.id);
  EXPECT_EQ(p->messages[1].id, t2.reply.id);
  EXPECT_EQ(p->next_before, t2.user_message.id);
  p = chats().path_page(c.id, p->next_before, 2);
  ASSERT_OK(p);
  ASSERT_EQ(p->messages.size(), 2u);
  EXPECT_EQ(p->messages[0].id, t1.user_message.id);
  EXPECT_EQ(p->next_before, t1.user_message.id);
  p = chats().path_page(c.id, p->next_before, 2);
  ASSERT_OK(p);
  ASSERT_EQ(p->messages.size(), 1u);
  EXPECT_EQ(p->messages[0].id, g);
  EXPECT_EQ(p->next_before, 0);
  p = chats().path_page(c.id, g, 2);
  ASSERT_OK(p);
  EXPECT_TRUE(p->messages.empty());
  EXPECT_EQ(p->next_before, 0);

  auto upto = chats().path_to(c.id, t1.reply.id, 2);
  ASSERT_OK(upto);
  ASSERT_EQ(upto->size(), 2u);
  EXPECT_EQ((*upto)[0].id, t1.user_message.id);
  EXPECT_EQ((*upto)[1].id, t1.reply.id);
}

}  // namespace troupe::store::sqlite::testing
