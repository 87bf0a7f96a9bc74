#include "StoreTestUtil.h"

namespace troupe::store::sqlite::testing {

// list_running / interrupt_generation: how a node finds and closes generations that no node runs.
class ChatRecoveryTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (HasFatalFailure()) return;
    alice_ = make_user("alice");
    aria_ = make_character(alice_.id, "Aria");
  }
  Turn running_turn(Id chat_id, const std::string& text) {
    auto t = chats().begin_turn(alice_.id, chat_id, text, "", "sim");
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    return t.ok() ? *t : Turn{};
  }
  User alice_;
  Character aria_;
};
TROUPE_STORE_BACKENDS(ChatRecoveryTest);

TEST_P(ChatRecoveryTest, ListRunningIsBoundedAndFiltersByChat) {
  Chat c1 = make_chat(alice_.id, aria_.id);
  Chat c2 = make_chat(alice_.id, aria_.id);
  Chat c3 = make_chat(alice_.id, aria_.id);
  Turn t1 = running_turn(c1.id, "one");
  Turn t2 = running_turn(c2.id, "two");
  finished_turn(alice_.id, c3.id, "done");

  auto all = chats().list_running(0, 100);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, t1.generation.id);
  EXPECT_EQ((*all)[1].id, t2.generation.id);
  EXPECT_EQ((*all)[0].chat_id, c1.id);
  EXPECT_EQ((*all)[0].message_id, t1.reply.id);
  EXPECT_EQ((*all)[0].status, "running");

  auto one = chats().list_running(0, 1);
  ASSERT_OK(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, t1.generation.id);

  auto of_c2 = chats().list_running(c2.id, 100);
  ASSERT_OK(of_c2);
  ASSERT_EQ(of_c2->size(), 1u);
  EXPECT_EQ((*of_c2)[0].id, t2.generation.id);

  auto of_c3 = chats().list_running(c3.id, 100);
  ASSERT_OK(of_c3);
  EXPECT_TRUE(of_c3->empty());

  auto clamped = chats().list_running(0, 0);  // clamped up to 1
  ASSERT_OK(clamped);
  EXPECT_EQ(clamped->size(), 1u);
}

TEST_P(ChatRecoveryTest, InterruptGenerationKeepsPartialTextAndOnlyTouchesRunningOnes) {
  Chat c = make_chat(alice_.id, aria_.id);
  Turn t = running_turn(c.id, "hello");
  ASSERT_OK(chats().save_partial(t.reply.id, "half a sent"));
  clock_.advance_ms(1234);

  auto r = chats().interrupt_generation(t.generation.id, "node lost");
  ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  const FinishedGeneration& f = **r;
  EXPECT_EQ(f.generation.id, t.generation.id);
  EXPECT_EQ(f.generation.status, "interrupted");
  EXPECT_EQ(f.generation.error, "node lost");
  EXPECT_EQ(f.generation.finished_at, clock_.now_ms());
  EXPECT_EQ(f.reply.id, t.reply.id);
  EXPECT_EQ(f.reply.status, "interrupted");
  EXPECT_EQ(f.reply.content, "half a sent");
  EXPECT_EQ(f.reply.swipe_count, 1);

  auto g = chats().get_generation(alice_.id, t.generation.id);
  ASSERT_OK(g);
  EXPECT_EQ(g->status, "interrupted");
  auto m = chats().get_message(alice_.id, t.reply.id);
  ASSERT_OK(m);
  EXPECT_EQ(m->content, "half a sent");
  EXPECT_EQ(m->status, "interrupted");
  auto u = chats().get_message(alice_.id, t.user_message.id);
  ASSERT_OK(u);
  EXPECT_EQ(u->content, "hello");

  // Second time: already final, nothing changes.
  auto again = chats().interrupt_generation(t.generation.id, "again");
  ASSERT_OK(again);
  EXPECT_FALSE(again->has_value());
  // A late final write of the old generation is refused, not applied over the interruption.
  EXPECT_ERRC(chats().finish_generation(t.generation.id, "completed", "late", ""), Errc::conflict);
  auto still = chats().get_message(alice_.id, t.reply.id);
  ASSERT_OK(still);
  EXPECT_EQ(still->content, "half a sent");
  // The chat takes a new turn.
  Turn next = running_turn(c.id, "next");
  EXPECT_GT(next.generation.id, 0);
  auto left = chats().list_running(c.id, 10);
  ASSERT_OK(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].id, next.generation.id);
}

TEST_P(ChatRecoveryTest, InterruptGenerationLeavesFinishedOnesAlone) {
  Chat c = make_chat(alice_.id, aria_.id);
  Turn t = finished_turn(alice_.id, c.id, "hi");
  auto r = chats().interrupt_generation(t.generation.id, "x");
  ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
  auto g = chats().get_generation(alice_.id, t.generation.id);
  ASSERT_OK(g);
  EXPECT_EQ(g->status, "completed");
  auto m = chats().get_message(alice_.id, t.reply.id);
  ASSERT_OK(m);
  EXPECT_EQ(m->content, "re: hi");
  EXPECT_EQ(m->status, "completed");
  EXPECT_ERRC(chats().interrupt_generation(999999, "x"), Errc::not_found);
}

}  // namespace troupe::store::sqlite::testing
